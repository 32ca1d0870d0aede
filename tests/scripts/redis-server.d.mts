export interface TestRedis {
  port: number;
  dir: string;
  url: string;
  restart(options?: { downMs?: number; signal?: NodeJS.Signals }): Promise<void>;
  stop(): Promise<void>;
}
export declare function redisAvailable(): boolean;
export declare function redisRequired(): boolean;
export declare function startRedis(options?: {
  persist?: boolean;
  password?: string;
}): Promise<TestRedis>;
