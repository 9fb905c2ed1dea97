/**
 * The generated `apache.rocketmq.v2` types and schemas the front uses, in one
 * import (the generated files live in `proxy/gen/`, see `tools/proto_gen.ts`).
 *
 * @module
 */

export * from "../gen/apache/rocketmq/v2/definition_pb.ts";
export * from "../gen/apache/rocketmq/v2/service_pb.ts";
