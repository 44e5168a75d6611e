/** An AbortSignal fired by the first SIGINT/SIGTERM; a second one exits at once. */
export function stopOnSignals(onStop?: (signal: string) => void): AbortController {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    onStop?.(signal);
    controller.abort(new Error(`received ${signal}`));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  controller.signal.addEventListener('abort', () => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
  });
  return controller;
}
