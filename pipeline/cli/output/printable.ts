// C0 controls but LF, DEL, C1 controls (a lone 0x9b is CSI on many terminals), line and paragraph separators, and the
// bidirectional overrides and isolates that can make text read in another order than it is ("Trojan Source").
const Unprintable = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const Named: Readonly<Record<string, string>> = { '\t': '\\t', '\r': '\\r', '\u001b': '\\e' };

/**
 * Text from events, registries or the database made safe for a terminal: every control character is shown escaped
 * (`\e`, `\r`, `\t`, `\x07`, `\u202e`) instead of moving the cursor, recolouring the screen or reordering the line.
 * With `multiline` false (table cells, one-line messages) LF is escaped too (`\n`). Every human output goes through this.
 *
 * @example
 * printable('bucket\u001b[2J\r\nowned') // 'bucket\\e[2J\\r\\nowned'
 */
export function printable(text: string, options: { readonly multiline?: boolean } = {}): string {
  const escaped = text.replace(Unprintable, escapeOne);
  return options.multiline ? escaped : escaped.replaceAll('\n', '\\n');
}

function escapeOne(char: string): string {
  const named = Named[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
