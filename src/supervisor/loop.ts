import { execute, type Effects } from './execute.js';
import { step } from './machine.js';
import { SerialQueue } from './serial.js';
import type { Input, World } from './world.js';

/**
 * Whether an input still holds when its turn comes (pure inputs always do):
 * an app's group reported empty may have been filled again meanwhile.
 */
export type Confirm = (input: Input, world: World) => Promise<boolean>;

/**
 * The supervisor's one event loop: takes inputs one at a time, steps the
 * state machine, and runs the step's actions before taking the next input,
 * so no two transitions, and no command and transition, interleave.
 */
export class StateLoop {
  private readonly queue = new SerialQueue();

  constructor(private world: World, private readonly effects: (world: World) => Effects, private readonly confirm: Confirm = async () => true) {}

  /** The world as the last step left it. */
  get current(): World {
    return this.world;
  }

  /** Takes one input in turn; a refusal or a failed action is the returned promise's error. */
  dispatch(input: Input): Promise<void> {
    return this.queue.run(async () => {
      const started = process.hrtime.bigint();
      if (!(await this.confirm(input, this.world))) return;
      const next = step(this.world, input);
      this.world = next.world;
      const fx = this.effects(next.world);
      const learnt = await execute(next.actions, fx, started);
      for (const more of learnt) void this.dispatch(more).catch((error: unknown) => fx.record({ type: 'error', detail: String(error) }));
    });
  }

  /** Runs a task in turn with the inputs (the table's teardown), so it never meets a step halfway. */
  inTurn<T>(task: () => Promise<T>): Promise<T> {
    return this.queue.run(task);
  }

  /** Forgets every app: only for a start that failed, whose apps nothing watches. */
  forgetApps(): void {
    this.world = { ...this.world, apps: new Map() };
  }
}
