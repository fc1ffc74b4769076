import { z } from 'zod';

export const ROLES = ['user', 'admin'] as const;

/** What a verified token says about its bearer; the only source of identity in the platform. */
export const identityClaims = z.object({
  sub: z.string().min(1).max(191),
  role: z.enum(ROLES).default('user'),
  exp: z.number().int(),
});

export interface Identity {
  userId: string;
  role: (typeof ROLES)[number];
  email?: string;
}
