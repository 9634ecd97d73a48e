// A client nobody here wrote, driving the Connect port: the Recommender
// service as @connectrpc/connect-node sees it, from the .proto's descriptor
// set (no generated code), over HTTP/1.1 with TLS and a bearer token.
// Run by tests/deploy/connect_clients_test.sh:
//   node connect_node_client.mjs BASE_URL CA_PEM TOKEN DESCRIPTOR_SET KNOWN_CUSTOMER
// Prints one line per check; exits 1 when one fails.
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

const [baseUrl, caPath, token, descriptorPath, knownCustomer] = process.argv.slice(2);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorPath)));
const service = registry.getService("easymoney.recommender.v1.Recommender");
const ca = readFileSync(caPath);

function clientWith(headers, useBinaryFormat = false) {
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    useBinaryFormat,
    nodeOptions: { ca },
    interceptors: [(next) => async (request) => {
      for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
      return next(request);
    }],
  });
  return createClient(service, transport);
}

let failures = 0;
function check(name, ok, detail = "") {
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${detail ? ": " + detail : ""}`);
  if (!ok) failures += 1;
}
async function expectError(name, call, code) {
  try {
    await call();
    check(name, false, "no error");
  } catch (error) {
    const connectError = ConnectError.from(error);
    check(name, connectError.code === code, `code ${Code[connectError.code]}: ${connectError.rawMessage}`);
  }
}

const web = clientWith({ Authorization: `Bearer ${token}` });

const known = await web.recommendProducts({ customerId: knownCustomer, numResults: 3 });
check("a known customer gets a personalised answer",
      known.products.length === 3 && known.requestId.length > 0 && known.modelVersion > 0n,
      `${known.products.map((p) => p.productId).join(",")} from version ${known.modelVersion}, strategy ${known.strategy}`);

const unknown = await web.recommendProducts({ customerId: "999999999", numResults: 3 });
check("an unknown customer gets an answer", unknown.products.length > 0, `strategy ${unknown.strategy}`);

const binary = await clientWith({ Authorization: `Bearer ${token}` }, true)
  .recommendProducts({ customerId: knownCustomer, numResults: 3 });
check("binary protobuf answers as JSON does",
      binary.products.map((p) => p.productId).join() === known.products.map((p) => p.productId).join());

await expectError("a bad id is invalid_argument", () => web.recommendProducts({ customerId: "not-a-number" }),
                  Code.InvalidArgument);

const feedback = {
  requestId: known.requestId,
  modelVersion: known.modelVersion,
  variant: known.variant,
  customerId: knownCustomer,
  productId: known.products[0].productId,
  event: 2, // FEEDBACK_EVENT_CLICK
};
const first = await web.reportFeedback(feedback);
check("feedback about the answer is recorded", first.duplicate === false);
const again = await web.reportFeedback(feedback);
check("the same feedback again is a duplicate", again.duplicate === true);
await expectError("feedback about an answer never given is refused",
                  () => web.reportFeedback({ ...feedback, requestId: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
                  Code.InvalidArgument);

await expectError("no token is unauthenticated", () => clientWith({}).recommendProducts({ customerId: knownCustomer }),
                  Code.Unauthenticated);

const info = await web.getModelInfo({});
check("model information", info.models.length >= 1 && info.models[0].version === known.modelVersion);

process.exit(failures === 0 ? 0 : 1);
