import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandExists, runOrThrow } from './process-control.ts';

export const KAFKA_VERSION = '3.9.1';

interface Prerequisite {
  command: string;
  aptPackage: string;
}

const PREREQUISITES: Prerequisite[] = [
  { command: 'redis-server', aptPackage: 'redis-server' },
  { command: 'mariadbd', aptPackage: 'mariadb-server' },
  { command: 'mariadb-install-db', aptPackage: 'mariadb-server' },
  { command: 'java', aptPackage: 'default-jre-headless' },
  { command: 'mvn', aptPackage: 'maven' },
];

const ENDPOINT_HINT = 'or point the platform at running services with REDIS_URL, MYSQL_URL and KAFKA_BROKERS';

/** Installs the Debian packages the local stack runs on, when this process may (root with apt). */
export function ensureServerBinaries(log: (line: string) => void): void {
  const missing = PREREQUISITES.filter((p) => !commandExists(p.command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((p) => p.aptPackage))];
  const canInstall = process.getuid?.() === 0 && commandExists('apt-get');
  if (!canInstall) {
    throw new Error(
      `The local stack needs ${missing.map((p) => p.command).join(', ')}. ` +
        `Install them (apt-get install -y ${packages.join(' ')}) ${ENDPOINT_HINT}.`,
    );
  }
  log(`installing ${packages.join(', ')} with apt-get (once per machine)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  runOrThrow('apt-get', ['update', '-qq'], { env });
  runOrThrow('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
}

/** Fetches the Apache Kafka broker jars from Maven Central into the stack folder (cached in ~/.m2 too). */
export function ensureKafkaJars(stackDir: string, log: (line: string) => void): string {
  const dir = join(stackDir, `kafka-${KAFKA_VERSION}`);
  const libs = join(dir, 'libs');
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) return libs;
  log(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.stack</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`,
  );
  runOrThrow('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`], { cwd: dir });
  return libs;
}
