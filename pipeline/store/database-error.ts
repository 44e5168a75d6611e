/** The database could not be used at all (unreachable, missing, refused us): the message says what to do. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}

interface Target {
  readonly host: string;
  readonly port: string;
  readonly database: string;
  readonly user: string;
}

const Unreachable = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);

/**
 * Turns the first failure against a Postgres URL into a one-line message that names the server (never the password)
 * and the fix; errors that are not about reaching or entering the database are returned unchanged.
 */
export function describeDatabaseError(error: unknown, url: string): unknown {
  const cause = pgCause(error);
  if (!cause) return error;
  const target = targetOf(url);
  const at = `${target.host}:${target.port}`;
  const code = String(cause.code ?? '');
  const reason = cause.message.split('\n')[0] ?? '';
  let message: string | null = null;
  if (Unreachable.has(code)) message = `cannot connect to the database at ${at} (${code}): is Postgres running and reachable there? Check the host and port in DATABASE_URL`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') message = `cannot find the database host "${target.host}" (${code}): check the host name in DATABASE_URL`;
  else if (/timeout/i.test(reason) && !code) message = `no answer from the database at ${at} within 10 s: check DATABASE_URL and the network between here and Postgres`;
  else if (code === '3D000') message = `database "${target.database}" does not exist on ${at}: create it (createdb ${target.database}) or fix the database name in DATABASE_URL`;
  else if (code === '28P01' || code === '28000') message = `the database at ${at} refused user "${target.user}" (${reason}): check the user and password in DATABASE_URL`;
  else if (code === '42501') message = `user "${target.user}" lacks a right driftwatch needs on database "${target.database}" (${reason}): run \`driftwatch migrate\` as a user that may create tables, or grant it`;
  else if (code === '57P03') message = `the database at ${at} is starting up or shutting down: try again in a moment`;
  return message === null ? error : new DatabaseUnavailableError(message, { cause: error });
}

function pgCause(error: unknown): { code?: unknown; message: string } | null {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' || /timeout/i.test(current.message)) return current as { code?: unknown; message: string };
  }
  return null;
}

function targetOf(url: string): Target {
  try {
    const parsed = new URL(url);
    return {
      host: decodeURIComponent(parsed.hostname) || 'localhost',
      port: parsed.port || '5432',
      database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres',
      user: decodeURIComponent(parsed.username) || 'postgres',
    };
  } catch {
    return { host: 'localhost', port: '5432', database: 'postgres', user: 'postgres' };
  }
}
