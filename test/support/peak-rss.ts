import { readFileSync } from 'node:fs';

/** Peak resident memory of a process so far (VmHWM), in MB. */
export const peakRssMb = (pid: number): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
