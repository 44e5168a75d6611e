import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackServer } from '../../slack-server/slack-server.ts';
import { SlackApi } from '../../../pipeline/notify/slack/slack-api.ts';

// The local server returns message metadata like Slack does (only with include_all_metadata), which is what the
// notifier's crash recovery relies on to find a message whose ts was never recorded.
describe('local Slack server: message metadata', () => {
  let slack: SlackServer;
  let client: WebClient;
  beforeAll(async () => {
    slack = await SlackServer.start({ token: 'xoxb-meta' });
    client = new WebClient('xoxb-meta', { slackApiUrl: slack.url, logLevel: LogLevel.ERROR });
  });
  afterAll(async () => slack?.close());

  it('returns metadata from history and replies only to readers that ask for it', async () => {
    const metadata = { event_type: 'driftwatch_notification', event_payload: { post_key: 'i-1|#alerts' } };
    const root = await client.chat.postMessage({ channel: '#alerts', text: 'root', metadata });
    await client.chat.postMessage({ channel: '#alerts', text: 'reply', thread_ts: root.ts!, metadata: { ...metadata, event_payload: { post_key: 'i-2|#alerts' } } });
    const plain = await client.conversations.history({ channel: '#alerts' });
    expect(plain.messages?.[0]).not.toHaveProperty('metadata');
    const withMeta = await client.conversations.history({ channel: '#alerts', include_all_metadata: true });
    expect(withMeta.messages?.[0]?.metadata).toEqual(metadata);

    const api = new SlackApi(client);
    expect(await api.findByMarker('#alerts', 'i-1|#alerts', { threadTs: null, oldestMs: 0 })).toEqual({ ts: root.ts });
    const reply = await api.findByMarker('#alerts', 'i-2|#alerts', { threadTs: root.ts!, oldestMs: 0 });
    expect(reply?.ts).not.toBe(root.ts);
    expect(await api.findByMarker('#alerts', 'i-3|#alerts', { threadTs: null, oldestMs: 0 })).toBeNull();
  });
});
