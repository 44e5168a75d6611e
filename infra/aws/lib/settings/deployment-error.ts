/** A deployment input a person must fix; its message is one line naming the input (synth stops with it). */
export class DeploymentError extends Error {
  override readonly name = 'DeploymentError';
}
