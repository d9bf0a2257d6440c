import { useState } from 'react';
import { errorMessage } from '../api/errors';

/**
 * Runs a form's action and keeps its error next to the field it is about.
 * The API's message decides the field: each field lists words that its
 * messages contain (e.g. "cidr" for a subnet's range); anything else shows
 * by the submit button.
 */
export function useSubmit<F extends string>(fields: Record<F, string[]> = {} as Record<F, string[]>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<{ field: F | undefined; message: string } | undefined>(undefined);

  const place = (message: string): F | undefined => {
    const m = message.toLowerCase();
    for (const [field, words] of Object.entries(fields) as [F, string[]][]) {
      if (words.some((w) => m.includes(w.toLowerCase()))) return field;
    }
    return undefined;
  };

  return {
    pending,
    /** The message for one field, if the last error was about it. */
    errorFor: (f: F): string | undefined => (error && error.field === f ? error.message : undefined),
    /** The last error when no field claimed it. */
    formError: error && error.field === undefined ? error.message : undefined,
    clear: () => setError(undefined),
    /** Shows a message (client-side check) next to a field. */
    fail: (message: string, field?: F) => setError({ field, message }),
    run: async (action: () => Promise<void>): Promise<boolean> => {
      setPending(true);
      setError(undefined);
      try {
        await action();
        return true;
      } catch (err) {
        const message = errorMessage(err);
        setError({ field: place(message), message });
        return false;
      } finally {
        setPending(false);
      }
    },
  };
}
