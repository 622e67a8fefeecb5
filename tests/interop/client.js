// A client not written in Python: asks a running rxpolicy server for a decision, an
// invalid request (reading the google.rpc.BadRequest field violations) and its health.
// Usage: node client.js HOST:PORT PROTO_ROOT
// Prints one JSON object with what it got; exits non-zero if a call fails unexpectedly.
"use strict";

const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const protobuf = require("protobufjs");

const [target, protoRoot] = process.argv.slice(2);
const local = path.join(__dirname, "protos");
const options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true };

const service = grpc.loadPackageDefinition(
  protoLoader.loadSync("rxpolicy/v1/policy_service.proto", { ...options, includeDirs: [protoRoot] })
).rxpolicy.v1.PolicyService;
const health = grpc.loadPackageDefinition(
  protoLoader.loadSync("grpc/health/v1/health.proto", { ...options, includeDirs: [local] })
).grpc.health.v1.Health;
const rpc = new protobuf.Root().loadSync(path.join(local, "google/rpc/status.proto"), { keepCase: true });
const Status = rpc.lookupType("google.rpc.Status");
const BadRequest = rpc.lookupType("google.rpc.BadRequest");

const creds = grpc.credentials.createInsecure();
const client = new service(target, creds);
const healthClient = new health(target, creds);
const deadline = () => new Date(Date.now() + 10000);

function call(method, request) {
  return new Promise((resolve) => {
    client[method](request, { deadline: deadline() }, (err, reply) => resolve({ err, reply }));
  });
}

const facts = {
  service_date: "2025-06-02",
  line_of_business: "medicaid",
  request_type: "initial",
  member_age: 67,
  diagnosis: "multiple_myeloma",
  prescriber_specialty: "hematology",
  disease_status: "relapsed",
  combination: { agents: ["Velcade", "dexamethasone"] },
  prior_therapies: { lines: [{ agents: ["lenalidomide", "dexamethasone"] }] },
  product: "selinexor",
  doses: { days: [{ tablets: 5, strength_mg: 20 }] },
};

async function main() {
  const out = {};
  const ok = await call("Evaluate", { request_id: "node-1", facts });
  if (ok.err) throw ok.err;
  out.decision = {
    request_id: ok.reply.request_id,
    outcome: ok.reply.decision.outcome,
    version: ok.reply.decision.version.version,
    months: ok.reply.decision.approval.months,
  };

  // The same facts through Facts.values, typed by kind (the map any policy's facts use).
  const values = {
    service_date: { text: "2025-06-02" },
    line_of_business: { text: "medicaid" },
    request_type: { text: "initial" },
    member_age: { integer: 67 },
    diagnosis: { text: "multiple_myeloma" },
    prescriber_specialty: { text: "hematology" },
    disease_status: { text: "relapsed" },
    combination: { agents: { agents: ["Velcade", "dexamethasone"] } },
    prior_therapies: { therapy_lines: { lines: [{ agents: ["lenalidomide", "dexamethasone"] }] } },
    product: { text: "selinexor" },
    doses: { doses: { days: [{ tablets: 5, strength_mg: 20 }] } },
  };
  const typed = await call("Evaluate", { request_id: "node-2", facts: { values } });
  if (typed.err) throw typed.err;
  out.typed = {
    outcome: typed.reply.decision.outcome,
    version: typed.reply.decision.version.version,
    months: typed.reply.decision.approval.months,
  };

  const bad = await call("Evaluate", { facts: { ...facts, diagnosis: "dlbc", member_age: -3 } });
  if (!bad.err) throw new Error("an invalid request got a decision");
  const details = bad.err.metadata.get("grpc-status-details-bin")[0];
  const status = Status.decode(details);
  out.error = {
    code: bad.err.code,
    name: Object.keys(grpc.status).find((k) => grpc.status[k] === bad.err.code),
    fields: status.details
      .filter((d) => d.type_url === "type.googleapis.com/google.rpc.BadRequest")
      .flatMap((d) => BadRequest.decode(d.value).field_violations.map((v) => v.field)),
  };

  out.health = await new Promise((resolve, reject) => {
    healthClient.Check({ service: "rxpolicy.v1.PolicyService" }, { deadline: deadline() }, (err, reply) =>
      err ? reject(err) : resolve(reply.status)
    );
  });

  const stream = client.EvaluateStream({ deadline: deadline() });
  const results = [];
  stream.on("data", (response) => results.push(...response.results));
  await new Promise((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("error", reject);
    stream.write({ requests: [{ request_id: "s-1", facts }, { request_id: "s-2", facts: { service_date: "never" } }] });
    stream.end();
  });
  out.stream = results.map((r) => [r.request_id, r.result]);

  console.log(JSON.stringify(out));
  client.close();
  healthClient.close();
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
