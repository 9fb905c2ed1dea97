/**
 * A child process for crash tests: an orderly consumer that prints one JSON
 * line per message it finishes (`{"queueId","seq","group"}`) and runs until it
 * is killed. Args: endpoint, group, topic, clientId.
 *
 * @module
 */

import { createConsumer } from "../../client/consumer.ts";

const [endpoint, group, topic, clientId] = Deno.args;
const consumer = await createConsumer({
  endpoint,
  group,
  topic,
  clientId,
  orderly: true,
  consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
  rebalanceIntervalMs: 200,
  lockRenewIntervalMs: 200,
  commitIntervalMs: 100,
});
const encoder = new TextEncoder();
await Deno.stdout.write(encoder.encode(`{"event":"ready"}\n`));
for await (const message of consumer.messages()) {
  const line = JSON.stringify({
    queueId: message.queueId,
    group: message.messageGroup,
    seq: Number(message.properties.seq),
  });
  await Deno.stdout.write(encoder.encode(line + "\n"));
}
