import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { RepoRoot } from '../../infra/aws/lib/settings/load-deployment.ts';

/** The bot scope each Slack Web API method needs (api.slack.com/methods; auth.test needs none). */
const ScopesByMethod: Record<string, readonly string[]> = {
  'auth.test': [],
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.replies': ['channels:history', 'groups:history'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('Slack app manifest', () => {
  const manifest = parse(readFileSync(join(RepoRoot, 'infra/slack/driftwatch-app-manifest.yaml'), 'utf8')) as {
    display_information: { name: string };
    features: { bot_user: { display_name: string } };
    oauth_config: { scopes: { bot: string[]; user?: string[] } };
  };

  it('grants the bot scope of every Slack method driftwatch calls, and no user scopes', () => {
    const called = new Set(sources(join(RepoRoot, 'pipeline/notify')).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/client\.([a-z]+\.[a-zA-Z]+)\(/g)].map((m) => m[1]!)));
    expect([...called].sort()).toEqual(Object.keys(ScopesByMethod).sort());
    const granted = new Set(manifest.oauth_config.scopes.bot);
    for (const method of called) for (const scope of ScopesByMethod[method]!) expect(granted.has(scope), `${method} needs ${scope}`).toBe(true);
    // Posting to a channel by name without an invitation; nothing beyond what the notifier uses.
    expect([...granted].sort()).toEqual(['channels:history', 'chat:write', 'chat:write.public', 'groups:history']);
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
    expect(manifest.features.bot_user.display_name).toBe('driftwatch');
  });
});
