// The second vendored bundle (js/vendor/charts.bundle.js): Chart.js for the dashboard, with only the
// pieces its charts use registered (stacked bars, lines, tooltips, legends), so the bundle stays small.
// Add a controller or scale here, then `npm run build`, rather than importing a package from the page.
import {
  Chart, BarController, BarElement, LineController, LineElement, PointElement,
  CategoryScale, LinearScale, Tooltip, Legend,
} from "chart.js";

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale,
  Tooltip, Legend);

export { Chart };
