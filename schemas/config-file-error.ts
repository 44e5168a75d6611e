/** A configuration problem a person must fix; its message is one line naming the file or setting. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}
