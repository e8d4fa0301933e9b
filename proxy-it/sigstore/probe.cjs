// Asks sigstore-js's OCI client (@sigstore/oci, which attaches attestations to images) whether a
// registry has the referrers API, the way it decides before attaching: GET
// /v2/<repository>/referrers/<zero digest> answered 200, else it falls back to the tag schema.
// Usage: node probe.cjs HOST:PORT REPOSITORY; prints {"referrersApi": true|false}.
const { RegistryClient } = require('@sigstore/oci/dist/registry');

const [registry, repository] = process.argv.slice(2);
new RegistryClient(registry, repository)
  .pingReferrers()
  .then((supported) => console.log(JSON.stringify({ referrersApi: supported })))
  .catch((e) => {
    console.log(JSON.stringify({ error: String(e) }));
    process.exitCode = 1;
  });
