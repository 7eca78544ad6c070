// Runs the ONDC signing SDK for iesnode's interop tests.
// stdin: {"op": "sign", "body", "privateKey", "subscriberId", "keyId"}
//     or {"op": "verify", "body", "header", "publicKey"}
// stdout: {"header": "..."} or {"valid": true|false}
const sdk = require("ondc-crypto-sdk-nodejs");

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const req = JSON.parse(input);
  if (req.op === "sign") {
    const header = await sdk.createAuthorizationHeader({
      body: req.body,  // the raw body string, never an object
      privateKey: req.privateKey,
      subscriberId: req.subscriberId,
      subscriberUniqueKeyId: req.keyId,
    });
    process.stdout.write(JSON.stringify({ header }));
  } else {
    const valid = await sdk.isHeaderValid({
      header: req.header, body: req.body, publicKey: req.publicKey,
    });
    process.stdout.write(JSON.stringify({ valid }));
  }
});
