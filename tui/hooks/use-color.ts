import { useContext } from 'react';
import { ColorContext } from '../color.js';
import type { Tone } from '../format/states.js';

/** A function that returns the colour to give Ink, or undefined when colours are off. */
export function useTone(): (tone: Tone) => Tone | undefined {
  const on = useContext(ColorContext);
  return (tone) => (on ? tone : undefined);
}
