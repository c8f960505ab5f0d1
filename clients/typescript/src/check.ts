// A client built only from openapi.yaml by third-party generators
// (openapi-typescript for the types, openapi-fetch for the calls) talks to a
// live zest-api server. tsc proves the request and response shapes used here
// exist in the contract; the runtime assertions prove the server answers them.
//
//   ZEST_URL=http://127.0.0.1:8080 ZEST_TOKEN=... node dist/check.js

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type InvestorInput = components["schemas"]["InvestorInput"];
type RowResult = components["schemas"]["RowResult"];
type Problem = components["schemas"]["Problem"];

function fail(message: string): never {
  console.error(`typescript client check FAILED: ${message}`);
  process.exit(1);
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") fail(`${name} is not set`);
  return value;
}

const baseUrl = env("ZEST_URL");
const token = env("ZEST_TOKEN");

const client = createClient<paths>({
  baseUrl,
  headers: { Authorization: `Bearer ${token}` },
});

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

async function importTwoRows(): Promise<string[]> {
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

async function unknownInvestorIsNotFound(): Promise<Problem> {
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

try {
  const ids = await importTwoRows();
  const problem = await unknownInvestorIsNotFound();
  console.log(
    `OK typescript client (openapi-typescript + openapi-fetch): imported 2 investors ${ids.join(" ")}; ` +
      `unknown investor -> 404 ${problem.code} errorId=${problem.errorId}`,
  );
} catch (err: unknown) {
  fail(err instanceof Error ? `${err.name}: ${err.message}${err.cause ? ` (${String(err.cause)})` : ""}` : String(err));
}
