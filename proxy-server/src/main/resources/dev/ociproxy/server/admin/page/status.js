// The status page's only script. It refreshes the live sections every few seconds and, when
// admin.token is set, asks for the token and sends it as "Authorization: Bearer" with every request.
// The token lives in this closure only: never in a URL, in storage or in a cookie. The page's HTML
// is rendered (and escaped) by the proxy; this script only moves whole elements of it around.
(() => {
  'use strict';
  const REFRESH_MS = 5000;
  const needsToken = document.body.hasAttribute('data-token-required');
  let token = null;

  async function fetchPage(url, liveOnly) {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    if (liveOnly) headers['X-Status-Live'] = '1';
    const r = await fetch(url, { headers, cache: 'no-store', credentials: 'omit', redirect: 'error' });
    if (r.status === 401) throw new Error('wrong token');
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
    if (!doc.querySelector('main section[data-live]')) throw new Error('the proxy answered without the status');
    return doc;
  }

  function swap(doc, selector) {
    const now = document.querySelector(selector);
    const next = doc.querySelector(selector);
    if (now && next) now.replaceWith(document.adoptNode(next));
  }

  function showPage(doc) {
    swap(doc, 'header');
    swap(doc, 'main');
    wire();
  }

  function wire() {
    const auto = document.getElementById('auto');
    if (auto) auto.hidden = false;
  }

  function say(text) {
    let p = document.getElementById('refresh-status');
    if (!p) {
      p = document.createElement('p');
      p.id = 'refresh-status';
      p.setAttribute('role', 'status');
      document.querySelector('header').append(p);
    }
    p.textContent = text;
  }

  async function refresh() {
    const box = document.getElementById('auto-refresh');
    if (!box || !box.checked || document.visibilityState !== 'visible') return;
    try {
      const doc = await fetchPage(location.pathname + location.search, true);
      for (const next of doc.querySelectorAll('section[data-live]')) {
        const now = document.getElementById(next.id);
        // A section the user is in (a focused link, a selection) is left alone until they leave it.
        if (now && !now.contains(document.activeElement)) now.replaceWith(document.adoptNode(next));
      }
      swap(doc, 'header .asof time');
      say('');
    } catch (e) {
      say('Refresh failed: ' + e.message);
    }
  }

  async function navigate(url, push) {
    try {
      showPage(await fetchPage(url));
      if (push) history.pushState(null, '', url);
      document.getElementById('main').focus();
    } catch (e) {
      say('Could not load the page: ' + e.message);
    }
  }

  document.addEventListener('submit', async (ev) => {
    const form = ev.target;
    if (form.id === 'unlock') {
      ev.preventDefault();
      const input = document.getElementById('token');
      token = input.value;
      input.value = '';
      try {
        showPage(await fetchPage(location.pathname + location.search));
        document.getElementById('main').focus();
      } catch (e) {
        token = null;
        document.getElementById('unlock-error').textContent = 'Not accepted: ' + e.message;
      }
    } else if (needsToken && token && form.getAttribute('role') === 'search') {
      ev.preventDefault();
      navigate('/?' + new URLSearchParams(new FormData(form)).toString(), true);
    }
  });

  // With a token, links within the page are followed here so the token goes along.
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[href^="/"]');
    if (!needsToken || !token || !a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    navigate(a.getAttribute('href'), true);
  });

  window.addEventListener('popstate', () => {
    if (needsToken && token) navigate(location.pathname + location.search, false);
  });

  wire();
  setInterval(refresh, REFRESH_MS);
})();
