import type { StackEndpoints } from '../../src/stack/local-stack.ts';

/**
 * Where a Docker engine answers, the test run gets throwaway containers instead of the local stack.
 * Kafka is mapped to a fixed host port because the broker must advertise the address clients dial.
 */
export async function startContainerStack(kafkaPort = 39092): Promise<{ endpoints: StackEndpoints; stop(): Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const [redis, mariadb, kafka] = await Promise.all([
    new GenericContainer('redis:7.4')
      .withCommand(['redis-server', '--appendonly', 'yes'])
      .withExposedPorts(6379)
      .start(),
    new GenericContainer('mariadb:10.11')
      .withEnvironment({ MARIADB_ROOT_PASSWORD: 'root', MARIADB_DATABASE: 'coupon', MARIADB_USER: 'coupon', MARIADB_PASSWORD: 'coupon' })
      .withExposedPorts(3306)
      .withWaitStrategy(Wait.forLogMessage(/ready for connections/, 2))
      .start(),
    new GenericContainer('apache/kafka:3.9.1')
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withExposedPorts({ container: kafkaPort, host: kafkaPort })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
  ]);
  return {
    endpoints: {
      redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
      mysqlUrl: `mysql://root:root@${mariadb.getHost()}:${mariadb.getMappedPort(3306)}/coupon`,
      kafkaBrokers: [`127.0.0.1:${kafkaPort}`],
    },
    stop: async () => {
      await Promise.all([redis.stop(), mariadb.stop(), kafka.stop()]);
    },
  };
}
