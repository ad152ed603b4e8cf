/** Route handlers that may be async: a rejection goes to the app's error handler (app.ts). */
import type { NextFunction, Request, Response } from "express";

type Handler = (req: Request, res: Response) => Promise<void> | void;

export const wrap =
  (h: Handler) =>
  (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve(h(req, res)).catch(next);
  };
