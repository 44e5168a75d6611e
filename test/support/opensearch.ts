/**
 * Test helper: find or start an OpenSearch node and return its base URL.
 *
 * Resolution order:
 *  1. `OPENSEARCH_URL` if set (used as-is, not probed);
 *  2. a node already answering on http://127.0.0.1:${OPENSEARCH_PORT ?? 9200};
 *  3. a Docker engine is reachable → `@testcontainers/opensearch` (security disabled);
 *  4. otherwise `infra/opensearch-local/start.sh` (embedded node, no Docker; left running
 *     for later runs — stop it with `npm run opensearch:stop`).
 *
 * The first local start builds the launcher with Maven (seconds when ~/.m2 is warm, longer on
 * a fresh machine) and waits at most 180 s for the node, so give the calling hook a generous
 * timeout (e.g. `beforeAll(..., 240_000)`).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StartedOpenSearchContainer } from "@testcontainers/opensearch";

const START_SCRIPT = fileURLToPath(new URL("../../infra/opensearch-local/start.sh", import.meta.url));
const DEFAULT_IMAGE = "opensearchproject/opensearch:2.19.6";

let pending: Promise<string> | undefined;
let container: StartedOpenSearchContainer | undefined;

/** Returns the base URL (no trailing slash) of a reachable OpenSearch node, starting one if needed. */
export async function ensureOpenSearch(): Promise<string> {
  const fromEnv = process.env.OPENSEARCH_URL?.trim();
  if (fromEnv) return stripTrailingSlash(fromEnv);
  pending ??= resolveOpenSearch().catch((err: unknown) => {
    pending = undefined; // allow a retry after a failure
    throw err;
  });
  return pending;
}

/** Stops the container started by this process, if any (the local node is left running on purpose). */
export async function stopOpenSearchContainer(): Promise<void> {
  const started = container;
  container = undefined;
  pending = undefined;
  if (started) await started.stop();
}

async function resolveOpenSearch(): Promise<string> {
  const localUrl = `http://127.0.0.1:${process.env.OPENSEARCH_PORT?.trim() || "9200"}`;
  if (await answers(localUrl)) return localUrl;

  if (await dockerEngineReachable()) {
    try {
      return await startContainer();
    } catch (err) {
      // e.g. testcontainers' undici needs a newer Node than 20, or the image cannot be pulled
      process.stderr.write(
        `ensureOpenSearch: Docker is reachable but the container failed (${describe(err)}); ` +
          "falling back to infra/opensearch-local\n",
      );
    }
  }

  await runStartScript();
  if (!(await answers(localUrl))) {
    throw new Error(`ensureOpenSearch: ${START_SCRIPT} succeeded but ${localUrl} does not answer`);
  }
  return localUrl;
}

async function startContainer(): Promise<string> {
  // Imported lazily: loading testcontainers is slow and it must not be loaded when Docker is absent.
  const { OpenSearchContainer } = await import("@testcontainers/opensearch");
  const image = process.env.OPENSEARCH_IMAGE?.trim() || DEFAULT_IMAGE;
  const started = await new OpenSearchContainer(image).withSecurityEnabled(false).start();
  container = started;
  return stripTrailingSlash(started.getHttpUrl());
}

function runStartScript(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [START_SCRIPT], {
      stdio: ["ignore", "inherit", "inherit"],
      env: process.env,
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`ensureOpenSearch: ${START_SCRIPT} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** True if anything answers HTTP at `url` (any status). */
async function answers(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/**
 * Pings the Docker engine API (`GET /_ping`) without loading testcontainers: a docker CLI alone,
 * without an engine, is not enough.
 */
async function dockerEngineReachable(): Promise<boolean> {
  const dockerHost = process.env.DOCKER_HOST?.trim();
  if (dockerHost) {
    if (dockerHost.startsWith("unix://")) return pingSocket(dockerHost.slice("unix://".length));
    if (dockerHost.startsWith("tcp://")) {
      const scheme = process.env.DOCKER_TLS_VERIFY ? "https" : "http";
      return answers(`${scheme}://${dockerHost.slice("tcp://".length)}/_ping`, 1_500);
    }
    return false;
  }
  const candidates = [
    "/var/run/docker.sock",
    process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, "docker.sock") : undefined,
    join(homedir(), ".docker", "run", "docker.sock"),
    join(homedir(), ".docker", "desktop", "docker.sock"),
  ];
  for (const socketPath of candidates) {
    if (socketPath && existsSync(socketPath) && (await pingSocket(socketPath))) return true;
  }
  return false;
}

function pingSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", method: "GET", timeout: 1_500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
    req.end();
  });
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
