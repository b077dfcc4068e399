// A forwarder in its own process, so a test can SIGKILL it mid-transaction (a real crash: no graceful stop,
// no abort, the open transaction is left to the broker). Prints `COMMITTED <position>` after every commit.
// argv: <sqlite file> <brokers> <JSON OutcomeForwarderOptions without store/kafka/logger> [hangAt]
// With hangAt = N, the N-th transaction's commit never returns (its records are sent, the transaction stays open)
// and `HANGING` is printed: the test then kills the process with a transaction certainly open.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
const [file, brokers, optionsJson, hangAt] = process.argv.slice(2);
const { default: kafkajs } = await import('kafkajs');
const { SqliteEventStore } = await import('#event-store');
const { OutcomeForwarder } = await import('../outcome-forwarder.ts');

const kafka = new kafkajs.Kafka({
  clientId: 'forwarder-child',
  brokers: brokers.split(','),
  logLevel: kafkajs.logLevel.NOTHING,
});
const store = new SqliteEventStore(file);
if (hangAt) hangNthCommit(kafka, Number(hangAt));
const say = (line) => process.stdout.write(`${line}\n`);
const logger = { info: (m) => say(`INFO ${m}`), warn: (m) => say(`WARN ${m}`), error: (m) => say(`ERROR ${m}`) };
const forwarder = new OutcomeForwarder({ ...JSON.parse(optionsJson), store, kafka, logger });
forwarder.onCommit((position) => say(`COMMITTED ${position}`));
forwarder.start();
process.on(
  'SIGTERM',
  () =>
    void forwarder
      .stop()
      .then(() => store.close())
      .then(() => process.exit(0)),
);

function hangNthCommit(client, n) {
  const producer = client.producer.bind(client);
  let count = 0;
  client.producer = (config) => {
    const p = producer(config);
    const transaction = p.transaction.bind(p);
    p.transaction = async () => {
      const tx = await transaction();
      if (++count === n) {
        tx.commit = () => {
          say('HANGING');
          return new Promise(() => {});
        };
      }
      return tx;
    };
    return p;
  };
}
