// Drives Debian's chromium through playwright-core for StatusPageIT: reads a plan (JSON) on stdin,
// runs its steps in one fresh browser context, prints what it saw as JSON on stdout.
// Plan: {"javaScript": true, "steps": [{"goto": url} | {"fill": sel, "value": v} | {"click": sel}
//   | {"press": key} | {"waitText": sel, "text": t} | {"text": sel} | {"html": sel}
//   | {"count": sel} | {"screenshot": path} | {"wait": ms} | {"focused": true} | {"fits": true}],
//   "width": CSS pixels of the viewport (default 1280)}
import { chromium } from 'playwright-core';

const plan = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));
const out = { results: [], requests: [], console: [], pageErrors: [], dialogs: [] };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({
    javaScriptEnabled: plan.javaScript !== false, viewport: { width: plan.width || 1280, height: 900 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('request', (r) => out.requests.push(r.method() + ' ' + r.url()));
  page.on('console', (m) => out.console.push(m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => out.pageErrors.push(String(e)));
  page.on('dialog', async (d) => { out.dialogs.push(d.message()); await d.dismiss(); });
  for (const s of plan.steps) {
    if (s.goto) await page.goto(s.goto);
    else if (s.fill) await page.fill(s.fill, s.value);
    else if (s.click) await page.click(s.click);
    else if (s.press) await page.keyboard.press(s.press);
    else if (s.waitText) await page.locator(s.waitText).filter({ hasText: s.text }).first().waitFor();
    else if (s.text) out.results.push(await page.locator(s.text).first().innerText());
    else if (s.html) out.results.push(await page.locator(s.html).first().innerHTML());
    else if (s.count) out.results.push(String(await page.locator(s.count).count()));
    else if (s.screenshot) await page.screenshot({ path: s.screenshot, fullPage: true });
    else if (s.wait) await page.waitForTimeout(s.wait);
    else if (s.focused) out.results.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent));
    else if (s.fits) out.results.push(String(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)));
  }
  out.url = page.url();
  out.cookies = (await context.cookies()).map((c) => c.name + '=' + c.value);
  out.storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }))
    .catch(() => 'unavailable');
  out.pwned = await page.evaluate(() => window.pwned === true).catch(() => false);
} catch (e) {
  out.error = String(e);
  out.lastText = await browser.contexts()[0]?.pages()[0]?.innerText('body').catch(() => '') ?? '';
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
