export interface FuzzCase {
  index: number;
  name: string;
  /** The spec file's content. */
  content: string | Buffer;
  /** The spec file's extension (default yaml). */
  ext?: string;
  /** Files written next to the spec (plugin modules). */
  files?: Record<string, string>;
}
export declare function fuzzCases(): FuzzCase[];
