// Types of <vae-playground> for embedders (TypeScript, editors). The same
// surface is described in custom-elements.json; tests/browser/manifest.test.mjs
// checks both against the element.

/** Kinds of error: `err.name` of a rejected call, `detail.kind` of the `error` event. */
export type ErrorKind =
  | 'InvalidConfig' // a bad attribute or setting
  | 'BadFile' // malformed or truncated data
  | 'NoAdapter' // WebGPU gave no adapter or device
  | 'DeviceLost' // the GPU device was lost
  | 'OutOfMemory' // over the device's memory or buffer limits
  | 'Diverged' // training went non-finite or exploded: rolled back to the last good snapshot and paused
  | 'Internal' // anything else from the wasm core
  | 'Network' // a download failed
  | 'WorkerFailed' // the training worker could not load or run
  | 'NotRunning'; // the element is not in a page (or was removed)

/** The settings a model trains with, resolved from its preset. */
export interface VaeConfig {
  preset: string;
  latent: number;
  beta: number;
  lr: number;
  batch: number;
  recon: 'bce' | 'gaussian';
  seed: number;
  binarize: boolean;
  image: { channels: number; height: number; width: number };
  parameters: number;
}

/** Where the model trains, and why. */
export interface BackendInfo {
  backend: 'webgpu' | 'cpu';
  adapter: string;
  reason: 'webgpu' | 'requested' | 'no-webgpu' | 'no-adapter' | 'device-lost' | string;
  message: string;
}

/** Mean metrics over the latest chunk of training steps (nats per image). */
export interface StepMetrics {
  step: number;
  epoch: number;
  loss: number;
  recon: number;
  kl: number;
  images: number;
  images_per_sec: number;
  steps_per_sec: number;
}

export interface BenchResult {
  backend: 'webgpu' | 'cpu';
  adapter?: string;
  error?: string;
  steps?: number;
  batch?: number;
  seconds?: number;
  imagesPerSec?: number;
  loss?: number;
}

/** A picture of a dark digit on a light or transparent background, any size. */
export type ImageSource = ImageData | HTMLCanvasElement | OffscreenCanvas | ImageBitmap | HTMLImageElement;

export interface VaePlaygroundEventMap {
  ready: CustomEvent<{ config: VaeConfig }>;
  backend: CustomEvent<BackendInfo>;
  step: CustomEvent<StepMetrics>;
  state: CustomEvent<{ running: boolean }>;
  error: CustomEvent<{ message: string; kind: ErrorKind }>;
  bench: CustomEvent<{ results: BenchResult[] }>;
}

export declare class VaePlayground extends HTMLElement {
  static readonly observedAttributes: string[];
  /** Starts (or resumes) training. */
  start(): Promise<void>;
  /** Pauses training; resolves once the worker has stopped stepping. */
  pause(): Promise<void>;
  /** A fresh model with the current settings. */
  reset(): Promise<void>;
  /** `n` (1 to 1024, default 16) new digits from the prior, dark ink on white. */
  sample(n?: number): Promise<ImageData[]>;
  /** One code, several, or a flat list of n * Z numbers -> one image per code. */
  decode(z: ArrayLike<number> | ArrayLike<number>[]): Promise<ImageData[]>;
  /** The mean latent code of an image, or of each of several. */
  encode(image: ImageSource): Promise<Float32Array>;
  encode(images: ImageSource[]): Promise<Float32Array[]>;
  /** Test hook, only with the `debug-faults` attribute: a panic in the wasm core, or a lost GPU device. */
  debugFault(fault: 'panic' | 'device-lost'): Promise<void>;
  readonly ready: boolean;
  readonly running: boolean;
  readonly step: number;
  readonly config: VaeConfig | null;
  readonly backend: BackendInfo | null;
  readonly error: string | null;

  addEventListener<K extends keyof VaePlaygroundEventMap>(
    type: K,
    listener: (this: VaePlayground, ev: VaePlaygroundEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof VaePlaygroundEventMap>(
    type: K,
    listener: (this: VaePlayground, ev: VaePlaygroundEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'vae-playground': VaePlayground;
  }
}
