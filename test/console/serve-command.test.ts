import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleServer } from '../../pipeline/console/console-server.ts';
import { runCli } from '../support/cli.ts';
import { complianceEvent } from '../support/events.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

const Bin = join(import.meta.dirname, '../../bin/driftwatch.mjs');
const Token = 'serve-command-test-token-31f9';

/** Starts the real CLI as a child process and waits for the line that says where the console listens. */
async function startCli(args: readonly string[], env: NodeJS.ProcessEnv, listening: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [Bin, ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${listening}" within 180 s; output:\n${out}`)), 180_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const found = listening.exec(out);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    void exited.then((code) => reject(new Error(`exited with ${code} before listening; output:\n${out}`)));
  });
  return { child, match, output: () => out, exited };
}

async function signIn(base: string, token: string): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ token, next: '/' }),
  });
  expect(response.status).toBe(303);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}

describe('driftwatch serve', () => {
  let database: TestDatabase;
  let unmigrated: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    unmigrated = await createTestDatabase({ migrate: false });
    // Data through the real pipeline: the replay command.
    const dir = await mkdtemp(join(tmpdir(), 'dw-serve-'));
    const file = join(dir, 'events.ndjson');
    const at = Date.now() - 3_600_000;
    const events = [
      complianceEvent({ id: 'serve-1', resourceId: 'bucket-1', compliance: 'NON_COMPLIANT', at }),
      complianceEvent({ id: 'serve-2', resourceId: 'bucket-2', compliance: 'NON_COMPLIANT', at }),
      complianceEvent({ id: 'serve-3', resourceId: 'bucket-3', compliance: 'COMPLIANT', at }),
    ];
    await writeFile(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const replay = await runCli(['replay', '--file', file, '--json'], { DATABASE_URL: database.url });
    expect(replay.code, replay.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await database?.drop();
    await unmigrated?.drop();
  });

  it('refuses with one line: no authentication, no state store, an unmigrated database, a bad setting', async () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ DATABASE_URL: database.url }, /^driftwatch: the console needs authentication: set DRIFTWATCH_CONSOLE_TOKEN/],
      [{ DRIFTWATCH_CONSOLE_TOKEN: Token }, /^driftwatch: serve reads a state store: set DATABASE_URL/],
      [{ DATABASE_URL: unmigrated.url, DRIFTWATCH_CONSOLE_TOKEN: Token }, /^driftwatch: the database has no driftwatch schema yet: run `driftwatch migrate` first/],
      [{ DATABASE_URL: database.url, DRIFTWATCH_CONSOLE_TOKEN: Token, DRIFTWATCH_CONSOLE_PORT: 'eighty' }, /^driftwatch: invalid setting DRIFTWATCH_CONSOLE_PORT: expected a port number/],
    ];
    for (const [env, message] of cases) {
      const result = await runCli(['serve', '--port', '0'], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toContain(Token);
    }
    // Read-only: it did not migrate the database it refused.
    const tables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name = 'kysely_migration'`.execute(unmigrated.db);
    expect(tables.rows[0]!.n).toBe(0);
  });

  it('serves the console from the state store on 127.0.0.1 until SIGTERM', async () => {
    const cli = await startCli(['serve', '--port', '0'], { DATABASE_URL: database.url, DRIFTWATCH_CONSOLE_TOKEN: Token }, /driftwatch console: (http:\/\/127\.0\.0\.1:\d+)\//);
    try {
      const base = cli.match[1]!;
      expect((await fetch(`${base}/`, { redirect: 'manual' })).status).toBe(303);
      const cookie = await signIn(base, Token);
      const html = await (await fetch(`${base}/teams/unowned`, { headers: { cookie } })).text();
      expect([...html.matchAll(/<tr data-finding=/g)]).toHaveLength(2);
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
  });

  it('run serves it beside the consumer only when DRIFTWATCH_CONSOLE_PORT is set', async () => {
    const runtime = { settings: {} as never, database: {} as never, catalog: {} as never, accounts: {} as never, sla: {} as never };
    expect(await ConsoleServer.forRun({ DRIFTWATCH_CONSOLE_TOKEN: Token }, runtime, pino({ level: 'silent' }))).toBeNull();
    await expect(ConsoleServer.forRun({ DRIFTWATCH_CONSOLE_PORT: '0' }, runtime, pino({ level: 'silent' }))).rejects.toThrow(/needs authentication/);
  });
});

describe('driftwatch demo --serve (embedded PGlite)', () => {
  it('runs the demo, prints the console URL and a token, serves the demo data until Ctrl-C', async () => {
    const cli = await startCli(
      ['demo', '--events', '600', '--shards', '2', '--accounts', '20', '--notifications', '0', '--serve', '--port', '0'],
      { DATABASE_URL: '', DRIFTWATCH_CONSOLE_TOKEN: '' },
      /Web console: (http:\/\/127\.0\.0\.1:\d+)\/\nSign in with the token (\S+)\n/,
    );
    try {
      const [, base, token] = cli.match;
      expect(cli.output()).toContain('Findings by severity:');
      const cookie = await signIn(base!, token!);
      const board = await (await fetch(`${base}/`, { headers: { cookie } })).text();
      const open = Number(/data-figure="open">([\d,]+)</.exec(board)![1]!.replaceAll(',', ''));
      expect(open).toBeGreaterThan(0);
      expect(board).toMatch(/data-figure="rate">\d+(\.\d)? %</);
      const team = /<a href="(\/teams\/[^"]+)">/.exec(/<table class="data" id="by-team">[\s\S]*?<\/table>/.exec(board)![0])![1]!;
      const teamPage = await fetch(`${base}${team}`, { headers: { cookie } });
      expect(teamPage.status).toBe(200);
      expect(await teamPage.text()).toMatch(/<tr data-finding=/);
    } finally {
      cli.child.kill('SIGINT');
    }
    expect(await cli.exited).toBe(0);
  }, 240_000);
});
