/** A rebuild writes `<table>__rebuild` and stores its checkpoints as `<projection>@rebuild`; as-of runs use `__asof`/`@asof`. */
export const REBUILD_SUFFIX = '@rebuild';
export const ASOF_SUFFIX = '@asof';
export const shadowTable = (table: string, asOf: boolean) => `${table}${asOf ? '__asof' : '__rebuild'}`;
