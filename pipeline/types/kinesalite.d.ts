declare module 'kinesalite' {
  import type { Server } from 'node:http';
  interface KinesaliteOptions {
    readonly createStreamMs?: number;
    readonly deleteStreamMs?: number;
    readonly updateStreamMs?: number;
    readonly shardLimit?: number;
    readonly path?: string;
    readonly ssl?: boolean;
  }
  export default function kinesalite(options?: KinesaliteOptions): Server;
}
