// Runs in a fresh Node process, as a Lambda container would: imports a handler bundle, invokes it with the first
// event (cold), then the second (warm), and prints the timings and responses as one JSON line.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, eventsFile] = process.argv.slice(2);
const [firstEvent, secondEvent] = JSON.parse(readFileSync(eventsFile, 'utf8'));
const context = (id) => ({ awsRequestId: id, getRemainingTimeInMillis: () => 60_000 });
const started = performance.now();
const module = await import(pathToFileURL(bundle).href);
const imported = performance.now();
const first = await module.handler(firstEvent, context('cold'));
const cold = performance.now();
const second = await module.handler(secondEvent, context('warm'));
const warm = performance.now();
await module.handler.container.close();
process.stdout.write(
  `${JSON.stringify({ importMs: imported - started, firstInvokeMs: cold - imported, secondInvokeMs: warm - cold, first, second })}\n`,
);
