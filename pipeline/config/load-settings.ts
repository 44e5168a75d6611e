import { Settings, SecretSettings } from '../../schemas/settings.ts';
import { redactUrls } from '../logging/redact-secrets.ts';
import { ConfigFileError } from '../../schemas/config-file-error.ts';

/**
 * Reads driftwatch's variables from the environment; a bad one gives a one-line error naming it. Secret variables are
 * never shown; any other value is shown with its URL credentials redacted (SLACK_API_URL=https://u:pw@host...).
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const input: Record<string, string> = {};
  for (const key of Object.keys(Settings.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = Settings.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0] ?? 'environment');
  const shown = SecretSettings.has(name) ? '' : ` (got ${JSON.stringify(redactUrls(input[name] ?? ''))})`;
  throw new ConfigFileError(`invalid setting ${name}: ${issue.message}${shown}`);
}
