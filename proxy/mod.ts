/**
 * The gRPC front for RocketMQ 5 clients (`apache.rocketmq.v2.MessagingService`):
 * run it over a {@linkcode ProxyBackend}. The broker runs it in-process
 * ("local mode", `--grpc-port`).
 *
 * @module
 */

export { GrpcFront, type GrpcFrontOptions } from "./grpc_front.ts";
export { GRPC_BODY_BYTES_MAX } from "./api/front_context.ts";
export type {
  BackendAckResult,
  BackendChangeInvisibleResult,
  BackendEndTransaction,
  BackendEndTransactionResult,
  BackendFilter,
  BackendHost,
  BackendMessage,
  BackendPullRequest,
  BackendPullResult,
  BackendRecallResult,
  BackendReceiveRequest,
  BackendReceiveResult,
  BackendSendResult,
  BackendTopic,
  BackendTopicBroker,
  GroupRetryPolicy,
  ProxyBackend,
  QueueOffsets,
  ReceivedRecord,
  TransactionCheck,
} from "./domain/backend.ts";
export {
  ACCEPT_ALL,
  type AccessResource,
  type Authorization,
  type AuthorizationHook,
  type AuthorizationRequest,
  parseAuthorization,
} from "./domain/authorization.ts";
