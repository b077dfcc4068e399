// A three-node EventStoreDB cluster out of the fake gRPC server (#event-store/testing), for tests of what a leader
// change does to the service. The nodes share one log (replication is instant; a write is acknowledged by the
// leader once it is in that log), and each answers gossip with the same membership: who leads, who follows.
// `elect(i)` moves the lead to node i, as an election does: the old leader turns follower and answers NotLeader
// naming the new one to leader-only calls (open batch-append streams included), and the ID cache that makes
// repeats with any / stream_exists idempotent is emptied (each node keeps its own, so the new leader's is cold).
import { FakeEsdb, FakeLog, type FakeEsdbOptions } from '#event-store/testing';

export class FakeEsdbCluster {
  readonly log: FakeLog;
  private leaderIndex = 0;
  /** Each election, as [from, to]. */
  readonly elections: Array<[number, number]> = [];

  private constructor(
    readonly nodes: FakeEsdb[],
    log: FakeLog,
  ) {
    this.log = log;
    for (const node of nodes) node.members = () => this.membership();
    this.elect(0);
    this.elections.length = 0;
  }

  static async start(options: Omit<FakeEsdbOptions, 'log'> = {}): Promise<FakeEsdbCluster> {
    const log = new FakeLog();
    const nodes = await Promise.all([0, 1, 2].map(() => FakeEsdb.start({ ...options, log })));
    return new FakeEsdbCluster(nodes, log);
  }

  get leader(): FakeEsdb {
    return this.nodes[this.leaderIndex]!;
  }

  /** Discovery over the three nodes' gossip, preferring the leader (the client's default). */
  connectionString(): string {
    const hosts = this.nodes.map((n) => `${n.endpoint.address}:${n.endpoint.port}`).join(',');
    return `esdb://${hosts}?tls=false&nodePreference=leader&discoveryInterval=20&maxDiscoverAttempts=20`;
  }

  elect(index: number): void {
    const next = this.nodes[index];
    if (next === undefined) throw new RangeError(`No node ${index} in a three-node cluster`);
    this.elections.push([this.leaderIndex, index]);
    this.leaderIndex = index;
    next.lead();
    for (const node of this.nodes) if (node !== next) node.follow(next.endpoint);
    this.log.forgetRecentIds();
  }

  /** Appends the nodes served, all of them. */
  get appends(): number {
    return this.nodes.reduce((sum, n) => sum + n.calls.appends, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  private membership(): Array<{
    endpoint: FakeEsdb['endpoint'];
    state: 'leader' | 'follower';
    alive: boolean;
  }> {
    return this.nodes.map((node) => ({ endpoint: node.endpoint, state: node.role, alive: true }));
  }
}
