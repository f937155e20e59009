/**
 * A small separate process that measures how quickly a serving node answers, so the
 * measurement is not slowed down by whatever the test process itself is busy with (dozens
 * of in-process peers streaming to the node). Commands arrive as JSON lines on stdin, one
 * JSON line answers each on stdout:
 *
 *   {"op":"status"}                          → {"ms": N, "connected": C}  a `status` over the control socket
 *                                                                      (C: contacts connected now)
 *   {"op":"invite"}                          → {"ms": N, "url": LINK}  an invitation (a durable write on the node)
 *   {"op":"pair","host":H,"link":LINK}       → {"ms": N}              a fresh device on loopback address H
 *                                                                      redeems LINK: a whole pairing
 *   {"op":"quit"}                            → exits
 *
 * It prints {"ready": true} once loaded, and connects to the node at the first command, so
 * it can be started before the node is.
 *
 * Usage: node --import tsx test/support/controlProber.ts HOME
 */
import { createInterface } from 'node:readline';
import { controlSocketAddress } from '../../cli/control/socketAddress.js';
import { ControlClient } from '../../cli/control/ControlClient.js';
import { wsInstance, type WsInstance } from './wsInstance.js';

const home = process.argv[2];
if (!home) throw new Error('usage: controlProber.ts HOME');
const devices: WsInstance[] = [];
const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
let connected: ControlClient | undefined;
const control = async (): Promise<ControlClient> => {
  connected ??= await ControlClient.connect(controlSocketAddress(home), { timeoutMs: 30_000 });
  if (!connected) throw new Error('nobody serves this home');
  return connected;
};
out({ ready: true });

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { op: string; host?: string; link?: string };
  try {
    if (command.op === 'status') {
      const started = performance.now();
      const client = await control();
      const report = await client.status();
      out({ ms: performance.now() - started, connected: report.connections.filter((c) => c.state === 'connected').length });
    } else if (command.op === 'invite') {
      const client = await control();
      const started = performance.now();
      const invite = await client.invite({ ttlSeconds: 600 });
      out({ ms: performance.now() - started, url: invite.url });
    } else if (command.op === 'pair') {
      const device = await wsInstance(`probe${devices.length}`, { host: command.host! });
      devices.push(device);
      const started = performance.now();
      await device.instance.acceptInvite(command.link!);
      out({ ms: performance.now() - started });
    } else if (command.op === 'quit') {
      break;
    }
  } catch (err) {
    out({ error: (err as { code?: string }).code ?? String(err) });
  }
}
await connected?.close();
await Promise.all(devices.map((d) => d.close()));
