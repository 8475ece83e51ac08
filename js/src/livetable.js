// A live table with its conflict panel (shown only while there is something to settle), as one anywidget.
import conflicts from "./conflicts.js";
import { compose } from "./lib/compose.js";
import table from "./table.js";

export default compose("nbrt-table-panel", table, conflicts);
