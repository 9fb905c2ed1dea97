/**
 * Producer and consumer group membership (RocketMQ `ProducerManager` and
 * `ConsumerManager`), fed by heartbeats.
 *
 * @module
 */

/** The connection a client talks through, as the domain sees it. */
export interface ClientChannel {
  /** Unique per connection for the broker's lifetime. */
  readonly id: string;
  /** Peer address, `host:port`. */
  readonly remoteAddress: string;
}

/** One subscription of a consumer group, as sent in heartbeats. */
export interface Subscription {
  readonly topic: string;
  /** The expression text (`*`, `a || b`, SQL92). */
  readonly subString: string;
  /** `TAG` or `SQL92`. */
  readonly expressionType: string;
  /** Subscription version (a timestamp). */
  readonly subVersion: number;
}

/** A consumer group's registration data from one heartbeat. */
export interface ConsumerRegistration {
  readonly group: string;
  /** `CONSUME_ACTIVELY`, `CONSUME_PASSIVELY` or `CONSUME_POP`. */
  readonly consumeType: string;
  /** `CLUSTERING` or `BROADCASTING`. */
  readonly messageModel: string;
  readonly consumeFromWhere: string;
  readonly subscriptions: readonly Subscription[];
}

/** A consumer group's registration with its live members (consumerConnection). */
export interface ConsumerGroupInfo<C> extends ConsumerRegistration {
  readonly members: readonly { readonly clientId: string; readonly channel: C }[];
}

interface Member<C extends ClientChannel> {
  readonly clientId: string;
  readonly channel: C;
  lastUpdateMs: number;
}

interface ConsumerGroup<C extends ClientChannel> {
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
  subscriptions: Map<string, Subscription>;
  /** Keyed by channel id. */
  members: Map<string, Member<C>>;
}

/** A group whose membership changed, with the channels still in it. */
export interface GroupChange<C extends ClientChannel> {
  readonly group: string;
  readonly channels: readonly C[];
}

/**
 * Who is in which producer and consumer group.
 *
 * Lives on the main thread; pure bookkeeping (the caller sends the
 * NOTIFY_CONSUMER_IDS_CHANGED requests for the changes it reports).
 * Invariant: a group with no members is removed, so `consumerGroups()` lists
 * live groups only.
 */
export class ClientRegistry<C extends ClientChannel> {
  readonly #consumers = new Map<string, ConsumerGroup<C>>();
  /** group → channel id → member. */
  readonly #producers = new Map<string, Map<string, Member<C>>>();

  /**
   * Record a consumer's heartbeat for one group.
   *
   * @param registration The group data from the heartbeat.
   * @param clientId The client's id.
   * @param channel The connection it came on.
   * @param nowMs Clock.
   * @returns True when the group gained a member (its members must be notified).
   */
  registerConsumer(
    registration: ConsumerRegistration,
    clientId: string,
    channel: C,
    nowMs: number,
  ): boolean {
    let group = this.#consumers.get(registration.group);
    if (group === undefined) {
      group = {
        consumeType: registration.consumeType,
        messageModel: registration.messageModel,
        consumeFromWhere: registration.consumeFromWhere,
        subscriptions: new Map(),
        members: new Map(),
      };
      this.#consumers.set(registration.group, group);
    }
    group.consumeType = registration.consumeType;
    group.messageModel = registration.messageModel;
    group.consumeFromWhere = registration.consumeFromWhere;
    // A newer subscription version replaces the old one (RocketMQ updateSubscription).
    for (const subscription of registration.subscriptions) {
      const old = group.subscriptions.get(subscription.topic);
      if (old === undefined || subscription.subVersion >= old.subVersion) {
        group.subscriptions.set(subscription.topic, subscription);
      }
    }
    const existing = group.members.get(channel.id);
    if (existing !== undefined && existing.clientId === clientId) {
      existing.lastUpdateMs = nowMs;
      return false;
    }
    group.members.set(channel.id, { clientId, channel, lastUpdateMs: nowMs });
    return true;
  }

  /**
   * Record a producer's heartbeat for one group.
   *
   * @param group Producer group.
   * @param clientId The client's id.
   * @param channel The connection.
   * @param nowMs Clock.
   */
  registerProducer(group: string, clientId: string, channel: C, nowMs: number): void {
    let members = this.#producers.get(group);
    if (members === undefined) {
      members = new Map();
      this.#producers.set(group, members);
    }
    const existing = members.get(channel.id);
    if (existing !== undefined && existing.clientId === clientId) existing.lastUpdateMs = nowMs;
    else members.set(channel.id, { clientId, channel, lastUpdateMs: nowMs });
  }

  /**
   * Remove a client from a consumer group (UNREGISTER_CLIENT).
   *
   * @param group Consumer group.
   * @param clientId The client's id.
   * @returns The change, when the client was a member.
   */
  unregisterConsumer(group: string, clientId: string): GroupChange<C> | undefined {
    const info = this.#consumers.get(group);
    if (info === undefined) return undefined;
    let removed = false;
    for (const [channelId, member] of info.members) {
      if (member.clientId === clientId) {
        info.members.delete(channelId);
        removed = true;
      }
    }
    if (!removed) return undefined;
    return this.#change(group, info);
  }

  /**
   * Remove a client from a producer group.
   *
   * @param group Producer group.
   * @param clientId The client's id.
   */
  unregisterProducer(group: string, clientId: string): void {
    const members = this.#producers.get(group);
    if (members === undefined) return;
    for (const [channelId, member] of members) {
      if (member.clientId === clientId) members.delete(channelId);
    }
    if (members.size === 0) this.#producers.delete(group);
  }

  /**
   * Forget every registration made through a connection that closed.
   *
   * @param channelId The connection's id.
   * @returns The consumer groups that lost a member.
   */
  removeChannel(channelId: string): GroupChange<C>[] {
    for (const [group, members] of this.#producers) {
      members.delete(channelId);
      if (members.size === 0) this.#producers.delete(group);
    }
    const changes: GroupChange<C>[] = [];
    for (const [group, info] of this.#consumers) {
      if (info.members.delete(channelId)) changes.push(this.#change(group, info));
    }
    return changes;
  }

  /**
   * Drop members whose last heartbeat is older than `timeoutMs`.
   *
   * @param nowMs Clock.
   * @param timeoutMs Allowed silence.
   * @returns The consumer groups that lost a member.
   */
  expire(nowMs: number, timeoutMs: number): GroupChange<C>[] {
    for (const [group, members] of this.#producers) {
      for (const [id, member] of members) {
        if (nowMs - member.lastUpdateMs > timeoutMs) members.delete(id);
      }
      if (members.size === 0) this.#producers.delete(group);
    }
    const changes: GroupChange<C>[] = [];
    for (const [group, info] of this.#consumers) {
      let removed = false;
      for (const [id, member] of info.members) {
        if (nowMs - member.lastUpdateMs > timeoutMs) {
          info.members.delete(id);
          removed = true;
        }
      }
      if (removed) changes.push(this.#change(group, info));
    }
    return changes;
  }

  /**
   * The client ids of a consumer group, sorted (what rebalance allocates over).
   *
   * @param group Consumer group.
   * @returns Distinct client ids; empty for an unknown group.
   */
  consumerIds(group: string): string[] {
    const info = this.#consumers.get(group);
    if (info === undefined) return [];
    return [...new Set([...info.members.values()].map((m) => m.clientId))].sort();
  }

  /**
   * The connections of a consumer group's members.
   *
   * @param group Consumer group.
   * @returns The channels; empty for an unknown group.
   */
  consumerChannels(group: string): C[] {
    const info = this.#consumers.get(group);
    return info === undefined ? [] : [...info.members.values()].map((m) => m.channel);
  }

  /**
   * The connections of a producer group's members (CHECK_TRANSACTION_STATE targets).
   *
   * @param group Producer group.
   * @returns The channels; empty for an unknown group.
   */
  producerChannels(group: string): C[] {
    const members = this.#producers.get(group);
    return members === undefined ? [] : [...members.values()].map((m) => m.channel);
  }

  /**
   * A consumer group's subscription to a topic.
   *
   * @param group Consumer group.
   * @param topic Topic.
   * @returns The subscription, or undefined.
   */
  subscription(group: string, topic: string): Subscription | undefined {
    return this.#consumers.get(group)?.subscriptions.get(topic);
  }

  /**
   * A live consumer group's registration: consume type, message model, start
   * position, subscriptions and members (admin views, consumerConnection).
   *
   * @param group Consumer group.
   * @returns The registration, or undefined for a group with no members.
   */
  consumerGroupInfo(group: string): ConsumerGroupInfo<C> | undefined {
    const info = this.#consumers.get(group);
    if (info === undefined) return undefined;
    return {
      group,
      consumeType: info.consumeType,
      messageModel: info.messageModel,
      consumeFromWhere: info.consumeFromWhere,
      subscriptions: [...info.subscriptions.values()],
      members: [...info.members.values()].map((m) => ({
        clientId: m.clientId,
        channel: m.channel,
      })),
    };
  }

  /**
   * Names of the live consumer groups.
   *
   * @returns Sorted group names.
   */
  consumerGroups(): string[] {
    return [...this.#consumers.keys()].sort();
  }

  /**
   * Names of the live producer groups.
   *
   * @returns Sorted group names.
   */
  producerGroups(): string[] {
    return [...this.#producers.keys()].sort();
  }

  #change(group: string, info: ConsumerGroup<C>): GroupChange<C> {
    // Subscriptions outlive members in RocketMQ only while the group is alive.
    if (info.members.size === 0) this.#consumers.delete(group);
    return { group, channels: [...info.members.values()].map((m) => m.channel) };
  }
}
