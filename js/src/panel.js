// The room at a glance, as one anywidget: sync state, who is here, the notification bell and its toasts.
import { compose } from "./lib/compose.js";
import notifications from "./notifications.js";
import presence from "./presence.js";
import sync from "./sync.js";

export default compose("nbrt-room-panel", sync, presence, notifications);
