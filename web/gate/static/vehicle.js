// The vehicle form: the plate on the plate keyboard (province first, then letters and digits), passengers,
// disinfected, direction; the driver is filled in by scanning their card while the form is open.
import { $, edit, radio } from "./dom.js";
import { onEnter } from "./screens.js";
import { api } from "./state.js";

const vehicle = { plate: "", passengers: 0, disinfected: false, direction: "in", driver: null };

// A resident's card scanned while the form is open: that person drives (subject key, and who for the screen).
export function setDriver(subject, label) {
  vehicle.driver = subject;
  $("#vehicle-driver").textContent = label;
}

function renderPlate() {
  $("#plate").textContent = vehicle.plate.length > 2 ? vehicle.plate.slice(0, 2) + "·" + vehicle.plate.slice(2) : vehicle.plate;
  $("#plate-provinces").hidden = vehicle.plate.length > 0;
  $("#plate-alnum").hidden = vehicle.plate.length === 0;
}

for (const keys of [$("#plate-provinces"), $("#plate-alnum")]) {
  keys.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    vehicle.plate = edit(vehicle.plate, button.dataset.key, 8);  // 8: new-energy plates
    renderPlate();
  });
}
$("#pass-minus").addEventListener("click", () => { vehicle.passengers = Math.max(0, vehicle.passengers - 1); $("#passengers").textContent = vehicle.passengers; });
$("#pass-plus").addEventListener("click", () => { vehicle.passengers = Math.min(60, vehicle.passengers + 1); $("#passengers").textContent = vehicle.passengers; });
$("#disinfected").addEventListener("click", (event) => {
  vehicle.disinfected = !vehicle.disinfected;
  event.currentTarget.setAttribute("aria-pressed", String(vehicle.disinfected));
});
radio($("#vehicle-direction"), (b) => { vehicle.direction = b.dataset.direction; });

$("#vehicle-save").addEventListener("click", async () => {
  if (vehicle.plate.length < 2) return;
  await api("POST", "vehicles", { plate: vehicle.plate, disinfected: vehicle.disinfected, passengers: vehicle.passengers,
    driver: vehicle.driver, direction: vehicle.direction });
  resetVehicle();
});

function resetVehicle() {
  Object.assign(vehicle, { plate: "", passengers: 0, disinfected: false, driver: null });
  $("#passengers").textContent = "0";
  $("#disinfected").setAttribute("aria-pressed", "false");
  $("#vehicle-driver").textContent = $("#vehicle-driver").dataset.empty;
  renderPlate();
}
$("#vehicle-driver").dataset.empty = $("#vehicle-driver").textContent;

onEnter("vehicle", renderPlate);
