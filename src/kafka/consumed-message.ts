/** A record of the log as every reader of it (group member or group-less) hands it on. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  timestamp: string;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** The partition's end as the broker saw it when it answered this fetch. */
  highWatermark: string;
}
