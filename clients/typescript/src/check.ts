// A client built only from openapi.yaml by third-party generators
// (openapi-typescript for the types, openapi-fetch for the calls) talks to a
// live zest-api server. tsc proves the request and response shapes used here
// exist in the contract; the runtime assertions prove the server answers them.
//
// It authenticates as partners do in production: it signs a JWT-bearer
// assertion (RFC 7523) with the tenant's registered Ed25519 key, using jose,
// exchanges it at POST /v1/oauth2/tokens, and makes every other call with the
// access token it gets back.
//
//   ZEST_URL=http://127.0.0.1:8080 ZEST_CLIENT_ID=acme ZEST_KID=acme-2026-11 \
//   ZEST_PRIVATE_KEY=private.pem ZEST_SPV_SLUG=acme-growth-i node dist/check.js

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

import { importPKCS8, SignJWT } from "jose";
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";

type InvestorInput = components["schemas"]["InvestorInput"];
type RowResult = components["schemas"]["RowResult"];
type Problem = components["schemas"]["Problem"];
type Subscription = components["schemas"]["Subscription"];

function fail(message: string): never {
  console.error(`typescript client check FAILED: ${message}`);
  process.exit(1);
}

function env(name: string, fallback?: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    if (fallback !== undefined) return fallback;
    fail(`${name} is not set`);
  }
  return value;
}

const baseUrl = env("ZEST_URL").replace(/\/+$/, "");
const clientId = env("ZEST_CLIENT_ID");
const kid = env("ZEST_KID");
const privateKeyFile = env("ZEST_PRIVATE_KEY");
const spvSlug = env("ZEST_SPV_SLUG");
const shareClassSlug = env("ZEST_SHARE_CLASS", "class-a");
const currency = env("ZEST_CURRENCY", "USD");
// The server wants the URL of its token endpoint as aud; a deployment may
// configure another (ZEST_TOKEN_AUDIENCE on the server).
const audience = env("ZEST_TOKEN_AUDIENCE", `${baseUrl}/v1/oauth2/tokens`);

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

// Unique per run, so the check can also be pointed at a server that has seen it before.
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const rows: InvestorInput[] = [
  {
    partnerInvestorId: `ts-check-${run}-1`,
    email: `alice.${run}@example.com`,
    firstName: "Alice",
    lastName: "Liddell",
    dateOfBirth: "1985-04-12",
    countryOfResidence: "AE",
  },
  {
    partnerInvestorId: `ts-check-${run}-2`,
    email: `bob.${run}@example.com`,
    firstName: "Bob",
    lastName: "Marley",
    dateOfBirth: "1980-02-06",
  },
];

// The token endpoint needs no credentials but the assertion.
const publicClient = createClient<paths>({ baseUrl });

// signAssertion signs a fresh assertion: iss and sub are the client id, aud
// the token endpoint, exp 2 minutes after iat (the server accepts at most
// 5), and a jti never used before (the server accepts each assertion once).
async function signAssertion(): Promise<string> {
  let pem: string;
  try {
    pem = readFileSync(privateKeyFile, "utf8");
  } catch (err: unknown) {
    fail(`reading ZEST_PRIVATE_KEY ${privateKeyFile}: ${String(err)}`);
  }
  // zest-api keys generate writes a PKCS #8 Ed25519 key, whose JWS alg is EdDSA.
  const key = await importPKCS8(pem, "EdDSA");
  return new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", kid, typ: "JWT" })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime("2m")
    .setJti(randomUUID())
    .sign(key);
}

// requestToken exchanges an assertion at POST /v1/oauth2/tokens, a form
// (application/x-www-form-urlencoded, which openapi-fetch encodes when told
// the content type) answered in the terms of RFC 6749.
function requestToken(assertion: string) {
  return publicClient.POST("/v1/oauth2/tokens", {
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: { grant_type: JWT_BEARER, assertion },
  });
}

async function accessToken(): Promise<{ token: string; expiresIn: number }> {
  const assertion = await signAssertion();
  const { data, error, response } = await requestToken(assertion);
  if (error !== undefined) {
    fail(`POST /v1/oauth2/tokens: HTTP ${response.status} ${JSON.stringify(error)}`);
  }
  if (response.status !== 200) fail(`POST /v1/oauth2/tokens: HTTP ${response.status}, want 200`);
  if (data.token_type !== "Bearer") fail(`token_type = ${String(data.token_type)}, want Bearer`);
  if (!/^zat_[a-z2-7]+$/.test(data.access_token)) fail(`access_token = ${data.access_token}, want zat_...`);
  if (!(data.expires_in > 0)) fail(`expires_in = ${data.expires_in}, want > 0`);
  if (response.headers.get("Cache-Control") !== "no-store") {
    fail(`POST /v1/oauth2/tokens: Cache-Control ${String(response.headers.get("Cache-Control"))}, want no-store`);
  }

  // An assertion is accepted once: a replay of it is refused, with the
  // error of RFC 6749, section 5.2.
  const replay = await requestToken(assertion);
  if (replay.data !== undefined) fail("POST /v1/oauth2/tokens: a replayed assertion minted a second token");
  if (replay.response.status !== 400) fail(`replayed assertion: HTTP ${replay.response.status}, want 400`);
  const refusal = replay.error;
  if (typeof refusal !== "object" || refusal === null || !("error" in refusal) || refusal.error !== "invalid_grant") {
    fail(`replayed assertion: ${JSON.stringify(refusal)}, want error invalid_grant`);
  }
  return { token: data.access_token, expiresIn: data.expires_in };
}

type Api = Client<paths>;

async function tokenInfo(client: Api): Promise<string> {
  const { data, error, response } = await client.GET("/v1/oauth2/info");
  if (error !== undefined) fail(`GET /v1/oauth2/info: HTTP ${response.status} ${error.code}: ${error.detail}`);
  if (data.clientId !== clientId) fail(`GET /v1/oauth2/info: clientId = ${data.clientId}, want ${clientId}`);
  if (data.keyId !== kid) fail(`GET /v1/oauth2/info: keyId = ${String(data.keyId)}, want ${kid} (not an access token?)`);
  if (data.expiresAt === undefined) fail("GET /v1/oauth2/info: no expiresAt for an access token");
  return data.expiresAt;
}

async function importTwoRows(client: Api): Promise<string[]> {
  const { data, error, response } = await client.POST("/v1/investors", {
    body: { investors: rows },
  });
  if (error !== undefined) {
    fail(`POST /v1/investors: HTTP ${response.status} ${error.code}: ${error.detail}`);
  }
  if (response.status !== 200) fail(`POST /v1/investors: HTTP ${response.status}, want 200`);
  if (data === undefined) fail("POST /v1/investors: 200 without a body");

  const results: RowResult[] = data.results;
  if (!Array.isArray(results) || results.length !== rows.length) {
    fail(`POST /v1/investors: want ${rows.length} results, got ${JSON.stringify(data.results)}`);
  }
  const ids: string[] = [];
  results.forEach((result, i) => {
    const row = rows[i];
    if (row === undefined) fail(`POST /v1/investors: unexpected result ${i}`);
    if (result.partnerInvestorId !== row.partnerInvestorId) {
      fail(`results[${i}].partnerInvestorId = ${String(result.partnerInvestorId)}, want ${row.partnerInvestorId}`);
    }
    if (result.status !== "created") {
      fail(`results[${i}].status = ${result.status}, want created (${JSON.stringify(result.error)})`);
    }
    const id = result.zestPersonId;
    if (typeof id !== "string" || !/^psn_[0-9a-z]+$/.test(id)) {
      fail(`results[${i}].zestPersonId = ${String(id)}, want psn_...`);
    }
    ids.push(id);
  });
  const { created, alreadyExists, failed } = data.summary;
  if (created !== 2 || alreadyExists !== 0 || failed !== 0) {
    fail(`summary = ${JSON.stringify(data.summary)}, want {created: 2, alreadyExists: 0, failed: 0}`);
  }
  return ids;
}

async function unknownInvestorIsNotFound(client: Api): Promise<Problem> {
  const zestPersonId = "psn_doesnotexist0000000000";
  const { data, error, response } = await client.GET("/v1/investors/{zestPersonId}", {
    params: { path: { zestPersonId } },
  });
  if (data !== undefined) fail(`GET /v1/investors/${zestPersonId}: HTTP ${response.status} with an investor, want 404`);
  if (response.status !== 404) fail(`GET /v1/investors/${zestPersonId}: HTTP ${response.status}, want 404`);
  const contentType = response.headers.get("Content-Type") ?? "";
  if (!contentType.startsWith("application/problem+json")) {
    fail(`GET /v1/investors/${zestPersonId}: Content-Type ${contentType}, want application/problem+json`);
  }
  // `error` is typed from the spec's Problem schema; a non-JSON body would reach here as a string.
  if (typeof error !== "object" || error === null) {
    fail(`GET /v1/investors/${zestPersonId}: error body is not a problem object: ${JSON.stringify(error)}`);
  }
  if (error.code !== "not_found") fail(`problem.code = ${error.code}, want not_found`);
  if (error.status !== 404) fail(`problem.status = ${error.status}, want 404`);
  if (typeof error.errorId !== "string" || error.errorId === "") {
    fail(`problem.errorId = ${JSON.stringify(error.errorId)}, want a non-empty string`);
  }
  if (error.retryable !== false) fail(`problem.retryable = ${String(error.retryable)}, want false`);
  return error;
}

const lumpSum = { currency, value: "25000.00" };

async function subscribe(client: Api, personId: string): Promise<string> {
  const what = `POST /v1/spvs/${spvSlug}/subscriptions`;
  const { data, error, response } = await client.POST("/v1/spvs/{spvSlug}/subscriptions", {
    params: { path: { spvSlug } },
    body: { subscriptions: [{ zestPersonId: personId, shareClassSlug, lumpSum, partnerSubscriptionId: `ts-check-${run}` }] },
  });
  if (error !== undefined) fail(`${what}: HTTP ${response.status} ${error.code}: ${error.detail}`);
  if (response.status !== 201) fail(`${what}: HTTP ${response.status}, want 201`);
  const result = data.results[0];
  if (data.results.length !== 1 || result === undefined) fail(`${what}: want 1 result, got ${JSON.stringify(data.results)}`);
  if (result.outcome !== "created") fail(`${what}: outcome ${result.outcome}, want created (${JSON.stringify(result.error)})`);
  if (result.status !== "pending") fail(`${what}: status ${String(result.status)}, want pending`);
  if (result.personId !== personId || result.spvSlug !== spvSlug || result.shareClassSlug !== shareClassSlug) {
    fail(`${what}: result ${JSON.stringify(result)} does not echo ${personId}, ${spvSlug}, ${shareClassSlug}`);
  }
  if (result.lumpSum?.currency !== lumpSum.currency || result.lumpSum.value !== lumpSum.value) {
    fail(`${what}: lumpSum ${JSON.stringify(result.lumpSum)}, want ${JSON.stringify(lumpSum)}`);
  }
  if (typeof result.subscriptionSlug !== "string" || !result.subscriptionSlug.startsWith("sub_")) {
    fail(`${what}: subscriptionSlug ${String(result.subscriptionSlug)}, want sub_...`);
  }
  const { created, alreadyExists, failed } = data.summary;
  if (created !== 1 || alreadyExists !== 0 || failed !== 0) {
    fail(`${what}: summary ${JSON.stringify(data.summary)}, want {created: 1, alreadyExists: 0, failed: 0}`);
  }
  return result.subscriptionSlug;
}

// The server recognises uploads by their content; the header and trailer of
// a PDF are enough for it.
function pdf(title: string): string {
  return `%PDF-1.4\n% ${title}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`;
}

// multipart sends an upload body as multipart/form-data. openapi-typescript
// types a `format: binary` part as a string, so the file's content travels
// typed as one and becomes a file part here; the other fields are text
// parts. fetch sets the Content-Type with its boundary.
function multipart(fileName: string) {
  return (body: { file: string } & Record<string, string>): FormData => {
    const form = new FormData();
    for (const [name, value] of Object.entries(body)) {
      if (name === "file") form.append(name, new Blob([value], { type: "application/pdf" }), fileName);
      else form.append(name, value);
    }
    return form;
  };
}

// fetchFile reads a signed URL from an upload's answer back, without the
// access token (the signature is the credential), and checks it serves the
// bytes uploaded.
async function fetchFile(what: string, url: string, want: string): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(`${what}: ${url} is not an absolute URL`);
  }
  const response = await fetch(parsed);
  const body = await response.text();
  if (response.status !== 200) fail(`${what}: GET ${url}: HTTP ${response.status}, want 200: ${body}`);
  if (body !== want) fail(`${what}: GET ${url} served ${JSON.stringify(body)}, want the uploaded ${JSON.stringify(want)}`);
}

async function uploadForm(client: Api, personId: string): Promise<void> {
  const what = `POST /v1/spvs/${spvSlug}/subscription/${personId}/forms`;
  const file = pdf(`signed subscription form ${run}`);
  const { data, error, response } = await client.POST("/v1/spvs/{spvSlug}/subscription/{personId}/forms", {
    params: { path: { spvSlug, personId } },
    body: { file },
    bodySerializer: multipart("signed-form.pdf"),
  });
  if (error !== undefined) fail(`${what}: HTTP ${response.status} ${error.code}: ${error.detail}`);
  if (response.status !== 201) fail(`${what}: HTTP ${response.status}, want 201`);
  if (data.personId !== personId || data.spvSlug !== spvSlug) fail(`${what}: answered ${JSON.stringify(data)}`);
  await fetchFile(`${what} subscriptionFormUrl`, data.subscriptionFormUrl, file);
}

const funding = { amount: lumpSum.value, currency, wireReference: `WIRE-TS-CHECK-${run}` };

async function uploadFunding(client: Api, personId: string): Promise<void> {
  const what = `POST /v1/spvs/${spvSlug}/subscription/${personId}/fundings`;
  const file = pdf(`wire receipt ${run}`);
  const { data, error, response } = await client.POST("/v1/spvs/{spvSlug}/subscription/{personId}/fundings", {
    params: { path: { spvSlug, personId } },
    body: { file, ...funding },
    bodySerializer: multipart("wire-receipt.pdf"),
  });
  if (error !== undefined) fail(`${what}: HTTP ${response.status} ${error.code}: ${error.detail}`);
  if (response.status !== 201) fail(`${what}: HTTP ${response.status}, want 201`);
  if (data.personId !== personId || data.spvSlug !== spvSlug) fail(`${what}: answered ${JSON.stringify(data)}`);
  if (data.amount !== funding.amount || data.currency !== funding.currency || data.wireReference !== funding.wireReference) {
    fail(`${what}: funding ${JSON.stringify(data)}, want ${JSON.stringify(funding)}`);
  }
  await fetchFile(`${what} fundingReceiptUrl`, data.fundingReceiptUrl, file);
}

async function readSubscription(client: Api, personId: string): Promise<Subscription> {
  const what = `GET /v1/spvs/${spvSlug}/subscription/${personId}`;
  const { data, error, response } = await client.GET("/v1/spvs/{spvSlug}/subscription/{personId}", {
    params: { path: { spvSlug, personId } },
  });
  if (error !== undefined) fail(`${what}: HTTP ${response.status} ${error.code}: ${error.detail}`);
  return data;
}

// The form moves a pending subscription to form_received, the receipt on to
// funding_received; the subscription lists both documents as current.
async function subscriptionAdvanced(client: Api, personId: string, subscriptionSlug: string): Promise<Subscription> {
  const what = `GET /v1/spvs/${spvSlug}/subscription/${personId}`;
  const sub = await readSubscription(client, personId);
  if (sub.subscriptionSlug !== subscriptionSlug) fail(`${what}: subscriptionSlug ${sub.subscriptionSlug}, want ${subscriptionSlug}`);
  if (sub.status !== "funding_received") fail(`${what}: status ${sub.status}, want funding_received`);
  for (const kind of ["subscription_form", "funding_receipt"]) {
    const docs = (sub.documents ?? []).filter((d) => d.kind === kind && d.current);
    if (docs.length !== 1 || docs[0]?.mediaType !== "application/pdf") {
      fail(`${what}: want one current ${kind} (application/pdf), got ${JSON.stringify(sub.documents)}`);
    }
  }
  return sub;
}

try {
  const { token, expiresIn } = await accessToken();
  // Every call from here on carries the access token, never a static token.
  const client: Api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const expiresAt = await tokenInfo(client);
  const ids = await importTwoRows(client);
  const problem = await unknownInvestorIsNotFound(client);
  const personId = ids[0];
  if (personId === undefined) fail("no investor to subscribe");
  const subscriptionSlug = await subscribe(client, personId);
  await uploadForm(client, personId);
  const afterForm = await readSubscription(client, personId);
  if (afterForm.status !== "form_received") fail(`after the form upload: status ${afterForm.status}, want form_received`);
  await uploadFunding(client, personId);
  const sub = await subscriptionAdvanced(client, personId, subscriptionSlug);
  console.log(
    `OK typescript client (openapi-typescript + openapi-fetch + jose): access token for ${clientId} ` +
      `(kid ${kid}, ${expiresIn} s, until ${expiresAt}), replayed assertion refused; ` +
      `imported 2 investors ${ids.join(" ")}; unknown investor -> 404 ${problem.code} errorId=${problem.errorId}; ` +
      `${sub.subscriptionSlug} of ${personId} to ${spvSlug}: pending -> form_received -> ${sub.status}`,
  );
} catch (err: unknown) {
  fail(err instanceof Error ? `${err.name}: ${err.message}${err.cause ? ` (${String(err.cause)})` : ""}` : String(err));
}
