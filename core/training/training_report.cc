#include "core/training/training_report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace easymoney {
namespace {

// ---------------------------------------------------------------------------
// Text helpers shared by both renderers.

// Non-finite values (a metric over zero customers, a failed fit) are shown as
// "n/a" rather than "nan", both in the tables and in the page.
std::string Number(double value, int decimals = 4) {
  if (!std::isfinite(value)) return "n/a";
  return absl::StrFormat("%.*f", decimals, value);
}

std::string Percent(double fraction, int decimals = 1) {
  if (!std::isfinite(fraction)) return "n/a";
  return absl::StrFormat("%.*f%%", decimals, 100 * fraction);
}

// Relative gain of `value` over `reference`, e.g. "+12.3%"; "n/a" when the
// reference is zero or either is not finite.
std::string RelativeGain(double value, double reference) {
  if (!std::isfinite(value) || !std::isfinite(reference) || reference == 0) return "n/a";
  return absl::StrFormat("%+.1f%%", 100 * (value - reference) / reference);
}

// Display width in a monospace terminal: counts UTF-8 code points so names
// like "A Coruña" keep the columns aligned.
size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (char c : text) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

std::string PadRight(absl::string_view text, size_t width) {
  std::string out(text);
  out.append(width - std::min(width, DisplayWidth(text)), ' ');
  return out;
}

std::string PadLeft(absl::string_view text, size_t width) {
  return absl::StrCat(std::string(width - std::min(width, DisplayWidth(text)), ' '), text);
}

// A monospace table: left-aligned first `text_columns` columns, numbers
// right-aligned, widths fitted to the content.
std::string FormatColumns(const std::vector<std::vector<std::string>>& rows, size_t text_columns) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = "  ";
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&line, c == 0 ? "" : "  ", c < text_columns ? PadRight(row[c], widths[c]) : PadLeft(row[c], widths[c]));
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

int ReportK(const TrainingReport& report) {
  if (!report.methods.empty()) return report.methods.front().second.k;
  if (!report.groups.empty()) return report.groups.front().model.k;
  return 0;
}

std::string BaselineName(const TrainingReport& report) {
  return report.methods.size() > 1 ? report.methods[1].first : std::string("baseline");
}

// The sentence comparing the model with its strongest baseline on MAP@k over
// relevant customers (the trainer's selection metric; over all customers the
// ratio is the same since every method sees the same customers).
std::string GainSentence(const TrainingReport& report) {
  const int k = ReportK(report);
  if (report.methods.empty()) return "No test metrics were computed.";
  const auto& [model_name, model] = report.methods.front();
  if (report.methods.size() == 1) return absl::StrCat(model_name, " has no baseline to compare with.");
  size_t best = 1;
  for (size_t i = 2; i < report.methods.size(); ++i) {
    const double candidate = report.methods[i].second.map_relevant;
    if (std::isfinite(candidate) &&
        (!std::isfinite(report.methods[best].second.map_relevant) ||
         candidate > report.methods[best].second.map_relevant)) {
      best = i;
    }
  }
  const auto& [best_name, baseline] = report.methods[best];
  return absl::StrFormat("%s MAP@%d (relevant) %s vs best baseline \"%s\" %s: relative gain %s", model_name, k,
                         Number(model.map_relevant), best_name, Number(baseline.map_relevant),
                         RelativeGain(model.map_relevant, baseline.map_relevant));
}

std::vector<std::string> MethodHeader(int k) {
  return {"method",
          "k",
          "customers",
          "relevant",
          absl::StrCat("MAP@", k, " all"),
          absl::StrCat("MAP@", k, " rel"),
          absl::StrCat("P@", k),
          absl::StrCat("R@", k),
          absl::StrCat("nDCG@", k),
          "hit rate",
          "coverage"};
}

std::vector<std::string> MethodRow(const std::string& name, const RankingMetrics& m) {
  return {name,
          absl::StrCat(m.k),
          absl::StrCat(m.customers),
          absl::StrCat(m.relevant_customers),
          Number(m.map),
          Number(m.map_relevant),
          Number(m.precision),
          Number(m.recall),
          Number(m.ndcg),
          Number(m.hit_rate),
          Number(m.coverage)};
}

// Dimensions in the order the trainer first listed them.
std::vector<std::string> Dimensions(const TrainingReport& report) {
  std::vector<std::string> dimensions;
  for (const auto& group : report.groups) {
    if (std::find(dimensions.begin(), dimensions.end(), group.dimension) == dimensions.end()) {
      dimensions.push_back(group.dimension);
    }
  }
  return dimensions;
}

// ---------------------------------------------------------------------------
// HTML and SVG.

std::string Escape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Long labels are cut so axes stay readable; the full text is in <title>.
std::string Shorten(absl::string_view text, size_t max_chars) {
  if (DisplayWidth(text) <= max_chars) return std::string(text);
  size_t chars = 0;
  size_t end = 0;
  for (; end < text.size(); ++end) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80 && chars++ == max_chars - 1) break;
  }
  return absl::StrCat(text.substr(0, end), "\xE2\x80\xA6");  // U+2026 ellipsis.
}

// Coordinates for SVG attributes; never "nan" or "inf".
std::string Coord(double value) {
  if (!std::isfinite(value)) value = 0;
  return absl::StrFormat("%.1f", std::clamp(value, -1e6, 1e6));
}

constexpr absl::string_view kPalette[] = {"#2563eb", "#f59e0b", "#10b981", "#ef4444",
                                          "#8b5cf6", "#0891b2", "#64748b", "#db2777"};
absl::string_view Color(size_t index) { return kPalette[index % std::size(kPalette)]; }

// An axis from `low` to `high` in steps of 1, 2, 2.5 or 5 times a power of ten.
struct Axis {
  double low = 0;
  double high = 1;
  double step = 0.2;
};

Axis NiceAxis(double low, double high, bool include_zero, int target_ticks = 5) {
  if (!std::isfinite(low) || !std::isfinite(high)) {
    low = 0;
    high = 1;
  }
  if (high < low) std::swap(low, high);
  if (include_zero) {
    low = std::min(low, 0.0);
    high = std::max(high, 0.0);
  }
  if (high - low <= 1e-12 * std::max(1.0, std::abs(high))) {
    const double pad = high == 0 ? 1 : std::abs(high) * 0.1;
    high += pad;
    if (!(include_zero && low == 0)) low -= pad;
  }
  const double rough = (high - low) / target_ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  const double ratio = rough / magnitude;
  double step = (ratio <= 1 ? 1 : ratio <= 2 ? 2 : ratio <= 2.5 ? 2.5 : ratio <= 5 ? 5 : 10) * magnitude;
  if (!std::isfinite(step) || step <= 0) step = high - low;
  return {std::floor(low / step + 1e-9) * step, std::ceil(high / step - 1e-9) * step, step};
}

std::vector<double> Ticks(const Axis& axis) {
  std::vector<double> ticks;
  for (int i = 0; i <= 50; ++i) {
    const double value = axis.low + i * axis.step;
    if (value > axis.high + axis.step * 1e-6) break;
    ticks.push_back(std::abs(value) < axis.step * 1e-9 ? 0.0 : value);
  }
  return ticks;
}

// "0.25", "150k", "1.2M": the fewest decimals that tell the ticks apart.
std::string FormatTick(double value, const Axis& axis) {
  if (value == 0) return "0";
  const double largest = std::max(std::abs(axis.low), std::abs(axis.high));
  double divisor = 1;
  absl::string_view suffix;
  if (largest >= 1e9) {
    divisor = 1e9;
    suffix = "G";
  } else if (largest >= 1e6) {
    divisor = 1e6;
    suffix = "M";
  } else if (largest >= 1e4) {
    divisor = 1e3;
    suffix = "k";
  }
  const double step = axis.step / divisor;
  int decimals = 0;
  for (double scaled = step; decimals < 6 && std::abs(scaled - std::round(scaled)) > 1e-6 * std::max(1.0, scaled);
       scaled *= 10) {
    ++decimals;
  }
  return absl::StrFormat("%.*f%s", decimals, value / divisor, suffix);
}

// Bar and point labels: integers as integers, fractions with three decimals.
std::string FormatValue(double value) {
  if (!std::isfinite(value)) return "n/a";
  if (std::abs(value) >= 1 && value == std::round(value)) return absl::StrFormat("%.0f", value);
  return absl::StrFormat("%.3f", value);
}

struct Series {
  std::string name;
  std::vector<double> values;  // Parallel to the chart's x values or categories.
  bool right_axis = false;     // Line charts only.
};

std::string SvgOpen(double width, double height, absl::string_view label) {
  return absl::StrFormat(
      "<svg viewBox=\"0 0 %s %s\" width=\"%s\" height=\"%s\" "
      "role=\"img\" aria-label=\"%s\">\n",
      Coord(width), Coord(height), Coord(width), Coord(height), Escape(label));
}

std::string SvgText(double x, double y, absl::string_view text, absl::string_view attributes = "") {
  return absl::StrCat("<text x=\"", Coord(x), "\" y=\"", Coord(y), "\"", attributes.empty() ? "" : " ", attributes,
                      ">", Escape(text), "</text>\n");
}

// A one-row legend at the top left of the plot.
std::string Legend(const std::vector<Series>& series, double x, double y) {
  std::string out;
  for (size_t i = 0; i < series.size(); ++i) {
    absl::StrAppend(&out, "<rect x=\"", Coord(x), "\" y=\"", Coord(y - 9), "\" width=\"12\" height=\"12\" rx=\"2\" fill=\"",
                    Color(i), "\"/>\n", SvgText(x + 17, y + 1, Shorten(series[i].name, 40)));
    x += 17 + 7.0 * static_cast<double>(std::min<size_t>(DisplayWidth(series[i].name), 40)) + 22;
  }
  return out;
}

struct LineChart {
  std::string label;  // For screen readers.
  std::string x_label;
  std::string left_label;
  std::string right_label;
  std::vector<double> xs;
  std::vector<Series> series;
  double marked_x = std::nan("");  // A dashed vertical line here, if finite.
  std::string marked_label;
};

// Line chart over numeric x values with up to two y axes. Points whose x or y
// is not finite are left out and break the line.
std::string LineChartSvg(const LineChart& chart) {
  bool has_right = false;
  for (const Series& s : chart.series) has_right |= s.right_axis;
  const double width = 960, height = 340;
  const double left = 78, right = has_right ? width - 78 : width - 28, top = 44, bottom = height - 52;

  std::vector<size_t> order;
  double x_min = INFINITY, x_max = -INFINITY;
  for (size_t i = 0; i < chart.xs.size(); ++i) {
    if (!std::isfinite(chart.xs[i])) continue;
    order.push_back(i);
    x_min = std::min(x_min, chart.xs[i]);
    x_max = std::max(x_max, chart.xs[i]);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return chart.xs[a] < chart.xs[b]; });
  if (order.empty()) {
    x_min = 0;
    x_max = 1;
  }
  const double x_pad = x_max > x_min ? (x_max - x_min) * 0.04 : 1;
  const auto px = [&](double x) { return left + (x - (x_min - x_pad)) / (x_max - x_min + 2 * x_pad) * (right - left); };

  Axis axes[2];
  for (int side = 0; side < 2; ++side) {
    double low = INFINITY, high = -INFINITY;
    for (const Series& s : chart.series) {
      if (s.right_axis != (side == 1)) continue;
      for (size_t i : order) {
        if (i < s.values.size() && std::isfinite(s.values[i])) {
          low = std::min(low, s.values[i]);
          high = std::max(high, s.values[i]);
        }
      }
    }
    axes[side] = low <= high ? NiceAxis(low, high, false) : NiceAxis(0, 1, true);
  }
  const auto py = [&](double y, int side) {
    const Axis& a = axes[side];
    return bottom - (y - a.low) / (a.high - a.low) * (bottom - top);
  };
  // The axis whose ticks draw the grid: the left one unless only the right is used.
  bool has_left = false;
  for (const Series& s : chart.series) has_left |= !s.right_axis;
  const int grid_side = has_left || !has_right ? 0 : 1;

  std::string out = SvgOpen(width, height, chart.label);
  for (int side = 0; side < 2; ++side) {
    if (side == 1 && !has_right) break;
    if (side == 0 && !has_left && has_right) continue;
    // Colour an axis like its series when it has exactly one.
    std::string color = "#475569";
    int count = 0;
    for (size_t s = 0; s < chart.series.size(); ++s) {
      if (chart.series[s].right_axis == (side == 1)) {
        ++count;
        color = std::string(Color(s));
      }
    }
    if (count != 1) color = "#475569";
    for (double tick : Ticks(axes[side])) {
      const double y = py(tick, side);
      if (side == grid_side) {
        absl::StrAppend(&out, "<line class=\"grid\" x1=\"", Coord(left), "\" x2=\"", Coord(right), "\" y1=\"",
                        Coord(y), "\" y2=\"", Coord(y), "\"/>\n");
      }
      absl::StrAppend(&out, SvgText(side == 0 ? left - 8 : right + 8, y + 4, FormatTick(tick, axes[side]),
                                    absl::StrCat("text-anchor=\"", side == 0 ? "end" : "start", "\" fill=\"", color,
                                                 "\"")));
    }
    const double label_x = side == 0 ? 16 : width - 12;
    absl::StrAppend(&out, SvgText(label_x, (top + bottom) / 2, side == 0 ? chart.left_label : chart.right_label,
                                  absl::StrCat("class=\"axis-label\" text-anchor=\"middle\" fill=\"", color,
                                               "\" transform=\"rotate(-90 ", Coord(label_x), " ",
                                               Coord((top + bottom) / 2), ")\"")));
  }
  absl::StrAppend(&out, "<line class=\"axis\" x1=\"", Coord(left), "\" x2=\"", Coord(right), "\" y1=\"",
                  Coord(bottom), "\" y2=\"", Coord(bottom), "\"/>\n");
  // x ticks at the data points, thinned when crowded.
  const size_t stride = order.size() > 16 ? (order.size() + 15) / 16 : 1;
  for (size_t n = 0; n < order.size(); n += stride) {
    const double x = px(chart.xs[order[n]]);
    absl::StrAppend(&out, "<line class=\"axis\" x1=\"", Coord(x), "\" x2=\"", Coord(x), "\" y1=\"", Coord(bottom),
                    "\" y2=\"", Coord(bottom + 5), "\"/>\n",
                    SvgText(x, bottom + 19, FormatValue(chart.xs[order[n]]), "text-anchor=\"middle\""));
  }
  absl::StrAppend(&out, SvgText((left + right) / 2, height - 10, chart.x_label,
                                "class=\"axis-label\" text-anchor=\"middle\""));

  if (std::isfinite(chart.marked_x) && chart.marked_x >= x_min && chart.marked_x <= x_max) {
    const double x = px(chart.marked_x);
    absl::StrAppend(&out, "<line class=\"mark\" x1=\"", Coord(x), "\" x2=\"", Coord(x), "\" y1=\"", Coord(top - 6),
                    "\" y2=\"", Coord(bottom), "\"/>\n",
                    SvgText(x + 5, top + 6, chart.marked_label, "class=\"mark-label\""));
  }

  for (size_t s = 0; s < chart.series.size(); ++s) {
    const Series& series = chart.series[s];
    const int side = series.right_axis ? 1 : 0;
    std::string path;
    std::string points;
    bool pen_down = false;
    for (size_t i : order) {
      if (i >= series.values.size() || !std::isfinite(series.values[i])) {
        pen_down = false;
        continue;
      }
      const double x = px(chart.xs[i]), y = py(series.values[i], side);
      absl::StrAppend(&path, pen_down ? " L" : " M", Coord(x), " ", Coord(y));
      pen_down = true;
      const bool marked = chart.xs[i] == chart.marked_x;
      absl::StrAppend(&points, "<circle cx=\"", Coord(x), "\" cy=\"", Coord(y), "\" r=\"", marked ? "6" : "3.5",
                      "\" fill=\"", marked ? "#fff" : Color(s), "\" stroke=\"", Color(s),
                      "\" stroke-width=\"2\"><title>", Escape(series.name), " at ", Escape(chart.x_label), " ",
                      FormatValue(chart.xs[i]), ": ", FormatValue(series.values[i]), "</title></circle>\n");
    }
    if (!path.empty()) {
      absl::StrAppend(&out, "<path d=\"", path.substr(1), "\" fill=\"none\" stroke=\"", Color(s),
                      "\" stroke-width=\"2.5\"/>\n");
    }
    absl::StrAppend(&out, points);
  }
  absl::StrAppend(&out, Legend(chart.series, left, 20), "</svg>\n");
  return out;
}

struct BarChart {
  std::string label;  // For screen readers.
  std::string y_label;
  std::vector<std::string> categories;
  std::vector<Series> series;  // One bar per series in each category.
};

// Grouped bar chart: categories along x, one bar per series in each. Bars
// with non-finite values are left out.
std::string BarChartSvg(const BarChart& chart) {
  const size_t num_series = std::max<size_t>(1, chart.series.size());
  const size_t num_categories = std::max<size_t>(1, chart.categories.size());
  const double left = 78, top = 44;
  const double min_slot = static_cast<double>(num_series) * 12 + 14;
  const double plot_width = std::max(854.0, static_cast<double>(num_categories) * min_slot);
  const double slot = plot_width / static_cast<double>(num_categories);
  size_t longest = 0;
  for (const std::string& c : chart.categories) longest = std::max(longest, std::min<size_t>(DisplayWidth(c), 28));
  const bool rotate = 7.0 * static_cast<double>(longest) > slot - 6;
  const double label_height = rotate ? 7.0 * static_cast<double>(longest) * 0.6 + 16 : 22;
  const double plot_height = 240;
  const double width = left + plot_width + 28, bottom = top + plot_height, height = bottom + label_height + 12;

  double low = 0, high = 0;
  for (const Series& s : chart.series) {
    for (double v : s.values) {
      if (std::isfinite(v)) {
        low = std::min(low, v);
        high = std::max(high, v);
      }
    }
  }
  const Axis axis = NiceAxis(low, high, true);
  const auto py = [&](double y) { return bottom - (y - axis.low) / (axis.high - axis.low) * plot_height; };

  std::string out = SvgOpen(width, height, chart.label);
  for (double tick : Ticks(axis)) {
    const double y = py(tick);
    absl::StrAppend(&out, "<line class=\"grid\" x1=\"", Coord(left), "\" x2=\"", Coord(left + plot_width),
                    "\" y1=\"", Coord(y), "\" y2=\"", Coord(y), "\"/>\n",
                    SvgText(left - 8, y + 4, FormatTick(tick, axis), "text-anchor=\"end\""));
  }
  absl::StrAppend(&out, SvgText(16, (top + bottom) / 2, chart.y_label,
                                absl::StrCat("class=\"axis-label\" text-anchor=\"middle\" transform=\"rotate(-90 16 ",
                                             Coord((top + bottom) / 2), ")\"")));

  const double bar_width = std::min(48.0, (slot - 12) / static_cast<double>(num_series));
  const double zero = py(0);
  for (size_t c = 0; c < chart.categories.size(); ++c) {
    const double center = left + slot * (static_cast<double>(c) + 0.5);
    const double first = center - bar_width * static_cast<double>(num_series) / 2;
    for (size_t s = 0; s < chart.series.size(); ++s) {
      if (c >= chart.series[s].values.size() || !std::isfinite(chart.series[s].values[c])) continue;
      const double value = chart.series[s].values[c];
      const double x = first + bar_width * static_cast<double>(s);
      const double y = std::min(py(value), zero);
      absl::StrAppend(&out, "<rect x=\"", Coord(x + 1), "\" y=\"", Coord(y), "\" width=\"", Coord(bar_width - 2),
                      "\" height=\"", Coord(std::abs(py(value) - zero)), "\" fill=\"", Color(s), "\"><title>",
                      Escape(chart.categories[c]), " \xE2\x80\x94 ", Escape(chart.series[s].name), ": ",
                      FormatValue(value), "</title></rect>\n");
      const std::string text = FormatValue(value);
      if (6.2 * static_cast<double>(text.size()) <= bar_width + 2) {
        absl::StrAppend(&out, SvgText(x + bar_width / 2, y - 4, text, "class=\"value\" text-anchor=\"middle\""));
      }
    }
    const std::string label = Shorten(chart.categories[c], 28);
    if (rotate) {
      absl::StrAppend(&out, SvgText(center, bottom + 14, label,
                                    absl::StrCat("text-anchor=\"end\" transform=\"rotate(-35 ", Coord(center), " ",
                                                 Coord(bottom + 14), ")\"")));
    } else {
      absl::StrAppend(&out, SvgText(center, bottom + 18, label, "text-anchor=\"middle\""));
    }
  }
  absl::StrAppend(&out, "<line class=\"axis\" x1=\"", Coord(left), "\" x2=\"", Coord(left + plot_width), "\" y1=\"",
                  Coord(zero), "\" y2=\"", Coord(zero), "\"/>\n");
  if (chart.series.size() > 1) absl::StrAppend(&out, Legend(chart.series, left, 20));
  absl::StrAppend(&out, "</svg>\n");
  return out;
}

std::string Chart(absl::string_view svg) { return absl::StrCat("<div class=\"chart\">\n", svg, "</div>\n"); }

std::string Muted(absl::string_view text) { return absl::StrCat("<p class=\"muted\">", Escape(text), "</p>\n"); }

// A <table> with a header row; cells are escaped, columns after the first
// `text_columns` are right-aligned numbers.
std::string HtmlTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                      size_t text_columns, absl::string_view row_class_first = "") {
  std::string out = "<table>\n<thead><tr>";
  for (size_t c = 0; c < header.size(); ++c) {
    absl::StrAppend(&out, c < text_columns ? "<th>" : "<th class=\"num\">", Escape(header[c]), "</th>");
  }
  absl::StrAppend(&out, "</tr></thead>\n<tbody>\n");
  for (size_t r = 0; r < rows.size(); ++r) {
    absl::StrAppend(&out, r == 0 && !row_class_first.empty() ? absl::StrCat("<tr class=\"", row_class_first, "\">")
                                                             : std::string("<tr>"));
    for (size_t c = 0; c < rows[r].size(); ++c) {
      absl::StrAppend(&out, c < text_columns ? "<td>" : "<td class=\"num\">", Escape(rows[r][c]), "</td>");
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table>\n");
  return out;
}

// Raw feature means span salaries to 0/1 flags.
std::string FeatureValue(double value) {
  if (!std::isfinite(value)) return "n/a";
  if (std::abs(value) >= 1000) return absl::StrFormat("%.0f", value);
  if (std::abs(value) >= 10) return absl::StrFormat("%.1f", value);
  return absl::StrFormat("%.3f", value);
}

constexpr absl::string_view kStyle = R"css(
:root { color-scheme: light; }
body { margin: 0; background: #f8fafc; color: #0f172a;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 8px 0 2px; }
h2 { font-size: 19px; margin: 0 0 12px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 18px 22px; margin: 18px 0; }
.muted, .meta { color: #64748b; }
.meta { margin: 0 0 8px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dl.summary dt { color: #475569; font-weight: 600; }
dl.summary dd { margin: 0; overflow-wrap: anywhere; }
ul { margin: 0; padding-left: 20px; }
.chart { overflow-x: auto; margin: 6px 0 10px; }
svg { display: block; font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #334155; }
svg .grid { stroke: #e2e8f0; stroke-width: 1; }
svg .axis { stroke: #94a3b8; stroke-width: 1; }
svg .axis-label { font-size: 13px; font-weight: 600; }
svg .mark { stroke: #0f172a; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .mark-label { font-weight: 600; fill: #0f172a; }
svg .value { font-size: 10px; fill: #475569; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e2e8f0; text-align: left; white-space: nowrap; }
th { background: #f1f5f9; font-weight: 600; }
td.num, th.num { text-align: right; }
tr.highlight td { font-weight: 600; background: #eff6ff; }
tr.section th { background: #fff; color: #475569; padding-top: 12px; }
.scroll { overflow-x: auto; }
ul.flags { list-style: none; padding: 0; }
ul.flags li { background: #fef2f2; border-left: 4px solid #dc2626; color: #7f1d1d; padding: 6px 10px; margin: 6px 0;
              border-radius: 0 4px 4px 0; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; color: #fff; background: #dc2626;
         border-radius: 10px; padding: 0 8px; margin-left: 8px; vertical-align: middle; }
.gain { font-weight: 600; }
)css";

std::string SummarySection(const TrainingReport& report) {
  std::string out = "<section id=\"summary\">\n<h2>Summary</h2>\n";
  if (report.summary.empty()) return absl::StrCat(out, Muted("Nothing recorded."), "</section>\n");
  absl::StrAppend(&out, "<dl class=\"summary\">\n");
  for (const auto& [key, value] : report.summary) {
    absl::StrAppend(&out, "<dt>", Escape(key), "</dt><dd>", Escape(value), "</dd>\n");
  }
  absl::StrAppend(&out, "</dl>\n</section>\n");
  return out;
}

std::string DataQualitySection(const TrainingReport& report) {
  std::string out = "<section id=\"data-quality\">\n<h2>Data quality</h2>\n";
  if (report.data_quality.empty()) return absl::StrCat(out, Muted("No findings."), "</section>\n");
  absl::StrAppend(&out, "<ul>\n");
  for (const std::string& line : report.data_quality) absl::StrAppend(&out, "<li>", Escape(line), "</li>\n");
  absl::StrAppend(&out, "</ul>\n</section>\n");
  return out;
}

std::string ChoosingKSection(const TrainingReport& report) {
  std::string out = "<section id=\"choosing-k\">\n<h2>Choosing k</h2>\n";
  if (report.k_curve.empty()) {
    return absl::StrCat(out, Muted(absl::StrCat("No sweep over k was run; k = ", report.chosen_k, " was given.")),
                        "</section>\n");
  }
  LineChart chart;
  chart.label = "k-means inertia and silhouette by number of clusters k";
  chart.x_label = "number of clusters k";
  chart.left_label = "inertia (lower is tighter)";
  chart.right_label = "silhouette (higher is better)";
  Series inertia{"inertia", {}, false};
  Series silhouette{"silhouette", {}, true};
  for (const auto& candidate : report.k_curve) {
    chart.xs.push_back(candidate.k);
    inertia.values.push_back(candidate.inertia);
    silhouette.values.push_back(candidate.silhouette);
  }
  chart.series = {std::move(inertia), std::move(silhouette)};
  chart.marked_x = report.chosen_k;
  chart.marked_label = absl::StrCat("chosen k = ", report.chosen_k);
  absl::StrAppend(&out, Muted(absl::StrCat("The elbow of the inertia curve and the highest silhouette guide the "
                                           "choice; chosen k = ",
                                           report.chosen_k, ".")),
                  Chart(LineChartSvg(chart)));
  return absl::StrCat(out, "</section>\n");
}

std::string ChoosingRankSection(const TrainingReport& report) {
  if (report.rank_curve.empty()) return "";
  std::string out = "<section id=\"choosing-rank\">\n<h2>Choosing the SVD rank</h2>\n";
  if (!report.rank_metric.empty()) absl::StrAppend(&out, Muted(absl::StrCat("Validation score: ", report.rank_metric)));
  LineChart chart;
  chart.label = "validation score by SVD rank";
  chart.x_label = "SVD rank";
  chart.left_label = "validation score";
  Series score{"validation score", {}, false};
  for (const auto& candidate : report.rank_curve) {
    chart.xs.push_back(candidate.rank);
    score.values.push_back(candidate.validation_score);
  }
  chart.series = {std::move(score)};
  chart.marked_x = report.chosen_rank;
  chart.marked_label = absl::StrCat("chosen rank = ", report.chosen_rank);
  absl::StrAppend(&out, Chart(LineChartSvg(chart)), "</section>\n");
  return out;
}

// Holding-rate cells are tinted on a square-root scale so that the many
// products held by a few percent of customers still show a difference.
std::string RateCell(double rate) {
  const double alpha = std::isfinite(rate) ? std::sqrt(std::clamp(rate, 0.0, 1.0)) : 0;
  return absl::StrFormat("<td class=\"num\" style=\"background:rgba(37,99,235,%.2f);color:%s\">%s</td>", alpha,
                         alpha > 0.6 ? "#fff" : "#0f172a", Percent(rate));
}

std::string ClustersSection(const TrainingReport& report) {
  std::string out = "<section id=\"clusters\">\n<h2>Clusters</h2>\n";
  if (report.clusters.empty()) return absl::StrCat(out, Muted("No clusters."), "</section>\n");
  BarChart chart;
  chart.label = "customers per cluster";
  chart.y_label = "customers";
  Series sizes{"customers", {}, false};
  for (const auto& cluster : report.clusters) {
    chart.categories.push_back(absl::StrCat("cluster ", cluster.id));
    sizes.values.push_back(static_cast<double>(cluster.size));
  }
  chart.series = {std::move(sizes)};
  absl::StrAppend(&out, Chart(BarChartSvg(chart)));

  // Features and products down, clusters across: there are far more of the former.
  absl::StrAppend(&out, "<h3>Cluster profiles</h3>\n",
                  Muted("Mean raw feature values, then the share of the cluster holding each product."),
                  "<div class=\"scroll\"><table>\n<thead><tr><th></th>");
  for (const auto& cluster : report.clusters) absl::StrAppend(&out, "<th class=\"num\">cluster ", cluster.id, "</th>");
  absl::StrAppend(&out, "</tr></thead>\n<tbody>\n<tr class=\"highlight\"><td>customers</td>");
  for (const auto& cluster : report.clusters) absl::StrAppend(&out, "<td class=\"num\">", cluster.size, "</td>");
  absl::StrAppend(&out, "</tr>\n");
  const size_t span = report.clusters.size() + 1;
  if (!report.feature_names.empty()) {
    absl::StrAppend(&out, "<tr class=\"section\"><th colspan=\"", span, "\">feature means</th></tr>\n");
  }
  for (size_t f = 0; f < report.feature_names.size(); ++f) {
    absl::StrAppend(&out, "<tr><td>", Escape(report.feature_names[f]), "</td>");
    for (const auto& cluster : report.clusters) {
      absl::StrAppend(&out, "<td class=\"num\">",
                      f < cluster.feature_means.size() ? FeatureValue(cluster.feature_means[f]) : "n/a", "</td>");
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  if (!report.product_names.empty()) {
    absl::StrAppend(&out, "<tr class=\"section\"><th colspan=\"", span, "\">product holding rates</th></tr>\n");
  }
  for (size_t p = 0; p < report.product_names.size(); ++p) {
    absl::StrAppend(&out, "<tr><td>", Escape(report.product_names[p]), "</td>");
    for (const auto& cluster : report.clusters) {
      absl::StrAppend(&out, p < cluster.holding_rates.size() ? RateCell(cluster.holding_rates[p])
                                                             : std::string("<td class=\"num\">n/a</td>"));
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table></div>\n</section>\n");
  return out;
}

std::string MethodsSection(const TrainingReport& report) {
  std::string out = "<section id=\"methods\">\n<h2>Model vs baselines</h2>\n";
  if (!report.protocol.empty()) absl::StrAppend(&out, Muted(report.protocol));
  if (report.methods.empty()) return absl::StrCat(out, Muted("No test metrics were computed."), "</section>\n");
  const int k = ReportK(report);
  BarChart chart;
  chart.label = "test metrics per method";
  chart.y_label = "score";
  chart.categories = {absl::StrCat("MAP@", k, " (relevant)"), absl::StrCat("precision@", k),
                      absl::StrCat("recall@", k), absl::StrCat("nDCG@", k)};
  for (const auto& [name, m] : report.methods) {
    chart.series.push_back({name, {m.map_relevant, m.precision, m.recall, m.ndcg}, false});
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, m] : report.methods) rows.push_back(MethodRow(name, m));
  absl::StrAppend(&out, Chart(BarChartSvg(chart)), "<p class=\"gain\">", Escape(GainSentence(report)), "</p>\n",
                  "<div class=\"scroll\">", HtmlTable(MethodHeader(k), rows, 1, "highlight"), "</div>\n",
                  "</section>\n");
  return out;
}

std::string FairnessSection(const TrainingReport& report) {
  std::string out = "<section id=\"fairness\">\n<h2>Fairness</h2>\n";
  if (report.fairness_flags.empty()) {
    absl::StrAppend(&out, Muted("No dimension's gap between groups exceeds the threshold."));
  } else {
    absl::StrAppend(&out, "<ul class=\"flags\">\n");
    for (const std::string& flag : report.fairness_flags) absl::StrAppend(&out, "<li>", Escape(flag), "</li>\n");
    absl::StrAppend(&out, "</ul>\n");
  }
  if (report.groups.empty()) return absl::StrCat(out, Muted("No per-group metrics were computed."), "</section>\n");
  const int k = ReportK(report);
  const std::string model_name = report.methods.empty() ? std::string("model") : report.methods.front().first;
  const std::string baseline_name = BaselineName(report);
  for (const std::string& dimension : Dimensions(report)) {
    bool flagged = false;
    for (const std::string& flag : report.fairness_flags) flagged |= absl::StartsWith(flag, dimension);
    absl::StrAppend(&out, "<h3>", Escape(dimension), flagged ? "<span class=\"badge\">flagged</span>" : "", "</h3>\n");
    BarChart chart;
    chart.label = absl::StrCat("MAP@", k, " (relevant) per ", dimension);
    chart.y_label = absl::StrCat("MAP@", k, " (relevant)");
    Series model{model_name, {}, false};
    Series baseline{baseline_name, {}, false};
    std::vector<std::vector<std::string>> rows;
    for (const auto& group : report.groups) {
      if (group.dimension != dimension) continue;
      chart.categories.push_back(group.group);
      model.values.push_back(group.model.map_relevant);
      baseline.values.push_back(group.baseline.map_relevant);
      rows.push_back({group.group, absl::StrCat(group.model.customers), absl::StrCat(group.model.relevant_customers),
                      Number(group.model.map_relevant), Number(group.baseline.map_relevant),
                      Number(group.model.recall)});
    }
    chart.series = {std::move(model), std::move(baseline)};
    absl::StrAppend(&out, Chart(BarChartSvg(chart)),
                    HtmlTable({"group", "customers", "relevant", absl::StrCat("model MAP@", k, " rel"),
                               absl::StrCat("baseline MAP@", k, " rel"), absl::StrCat("model R@", k)},
                              rows, 1));
  }
  absl::StrAppend(&out, "</section>\n");
  return out;
}

std::vector<std::string> FactorisationHeader(int k) {
  return {"factorisation", "best on validation", "validation", "second split", absl::StrCat("test MAP"),
          absl::StrCat("nDCG@", k), absl::StrCat("P@", k), absl::StrCat("R@", k)};
}

std::vector<std::vector<std::string>> FactorisationRows(const TrainingReport& report) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : report.factorisations) {
    const auto metric = [&](double value) { return f.tested ? Number(value) : std::string("-"); };
    rows.push_back({absl::StrCat(f.name, f.chosen ? " (chosen)" : ""), f.configuration,
                    f.tried ? Number(f.validation_score) : std::string("-"),
                    f.confirmation_score >= 0 ? Number(f.confirmation_score) : std::string("-"),
                    metric(f.test.map_full_normaliser),
                    metric(f.test.ndcg), metric(f.test.precision), metric(f.test.recall)});
  }
  return rows;
}

std::string FactorisationsSection(const TrainingReport& report) {
  if (report.factorisations.empty()) return "";
  return absl::StrCat("<section id=\"factorisations\">\n<h2>Factorisations</h2>\n",
                      Muted("Each factorisation's best configuration on validation, its score on a second "
                            "validation split where the finalists are compared (when there is one), and its test "
                            "metrics when refitted like the chosen model. Validation alone chose; test figures "
                            "are reported, never used to choose. Test MAP divides each AP by the number of "
                            "held-out items."),
                      "<div class=\"scroll\">", HtmlTable(FactorisationHeader(ReportK(report)),
                                                          FactorisationRows(report), 2),
                      "</div>\n</section>\n");
}

}  // namespace

easymoney::model::v1::MethodMetrics ToMethodMetrics(const std::string& method, const RankingMetrics& m) {
  easymoney::model::v1::MethodMetrics proto;
  proto.set_method(method);
  proto.set_k(m.k);
  proto.set_customers(static_cast<double>(m.customers));
  proto.set_relevant_customers(static_cast<double>(m.relevant_customers));
  proto.set_map(m.map);
  proto.set_map_relevant(m.map_relevant);
  proto.set_map_full(m.map_full_normaliser);
  proto.set_precision(m.precision);
  proto.set_recall(m.recall);
  proto.set_ndcg(m.ndcg);
  proto.set_hit_rate(m.hit_rate);
  proto.set_coverage(m.coverage);
  return proto;
}

void FillManifestEvaluation(const TrainingReport& report, easymoney::model::v1::Evaluation* evaluation) {
  evaluation->set_protocol(report.protocol);
  for (const auto& [method, metrics] : report.methods) *evaluation->add_methods() = ToMethodMetrics(method, metrics);
  for (const std::string& line : report.fairness_flags) evaluation->add_fairness(line);
  for (const auto& point : report.rank_curve) {
    evaluation->add_rank_curve(absl::StrFormat("rank %d: %.4f", point.rank, point.validation_score));
  }
  for (const auto& point : report.k_curve) {
    evaluation->add_k_curve(absl::StrFormat("k %d: silhouette %.4f inertia %.1f", point.k, point.silhouette,
                                            point.inertia));
  }
  for (const auto& f : report.factorisations) {
    auto* out = evaluation->add_factorisations();
    out->set_name(f.name);
    out->set_configuration(f.configuration);
    out->set_chosen(f.chosen);
    if (f.tried) out->set_validation_score(f.validation_score);
    if (f.confirmation_score >= 0) out->set_confirmation_score(f.confirmation_score);
    if (f.tested) *out->mutable_test() = ToMethodMetrics(f.name, f.test);
  }
}

std::string FormatFactorisations(const TrainingReport& report) {
  if (report.factorisations.empty()) return "";
  std::vector<std::vector<std::string>> rows = {FactorisationHeader(ReportK(report))};
  for (auto& row : FactorisationRows(report)) rows.push_back(std::move(row));
  return absl::StrCat("Factorisations (best of each on validation; test figures reported, not used to choose)\n",
                      FormatColumns(rows, 2));
}

std::string FormatMetricsTable(const TrainingReport& report) {
  const int k = ReportK(report);
  std::string out = "Test metrics";
  if (!report.protocol.empty()) absl::StrAppend(&out, " (", report.protocol, ")");
  absl::StrAppend(&out, "\n");
  if (report.methods.empty()) {
    absl::StrAppend(&out, "  none computed\n");
  } else {
    std::vector<std::vector<std::string>> rows = {MethodHeader(k)};
    for (const auto& [name, m] : report.methods) rows.push_back(MethodRow(name, m));
    absl::StrAppend(&out, FormatColumns(rows, 1), "  ", GainSentence(report), "\n");
  }

  absl::StrAppend(&out, "\nPer group (model vs ", BaselineName(report), ")\n");
  if (report.groups.empty()) {
    absl::StrAppend(&out, "  none computed\n");
  } else {
    std::vector<std::vector<std::string>> rows = {{"dimension", "group", "customers",
                                                   absl::StrCat("model MAP@", k, " rel"),
                                                   absl::StrCat("baseline MAP@", k, " rel"),
                                                   absl::StrCat("model R@", k)}};
    for (const auto& g : report.groups) {
      rows.push_back({g.dimension, g.group, absl::StrCat(g.model.customers), Number(g.model.map_relevant),
                      Number(g.baseline.map_relevant), Number(g.model.recall)});
    }
    absl::StrAppend(&out, FormatColumns(rows, 2));
  }
  if (report.fairness_flags.empty()) {
    absl::StrAppend(&out, "Fairness flags: none\n");
  } else {
    absl::StrAppend(&out, "Fairness flags:\n");
    for (const std::string& flag : report.fairness_flags) absl::StrAppend(&out, "  ! ", flag, "\n");
  }
  return out;
}

std::string RenderTrainingReportHtml(const TrainingReport& report) {
  const std::string title = report.title.empty() ? std::string("Training report") : report.title;
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", Escape(title),
      "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<main>\n<h1>", Escape(title), "</h1>\n");
  if (!report.created_at.empty()) {
    absl::StrAppend(&out, "<p class=\"meta\">Created <time datetime=\"", Escape(report.created_at), "\">",
                    Escape(report.created_at), "</time></p>\n");
  }
  absl::StrAppend(&out, SummarySection(report), DataQualitySection(report), ChoosingKSection(report),
                  ChoosingRankSection(report), ClustersSection(report), MethodsSection(report),
                  FactorisationsSection(report), FairnessSection(report), "</main>\n</body>\n</html>\n");
  return out;
}

absl::Status WriteTrainingReport(const std::string& dir, const TrainingReport& report) {
  if (dir.empty()) return absl::InvalidArgumentError("report directory is empty");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create report directory ", dir, ": ", error.message()));
  }
  const std::string path = (std::filesystem::path(dir) / "report.html").string();
  const std::string html = RenderTrainingReportHtml(report);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("cannot open ", path, " for writing: ", std::strerror(errno)));
  }
  const bool written = std::fwrite(html.data(), 1, html.size(), file) == html.size();
  const int write_errno = errno;
  if (std::fclose(file) != 0 || !written) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(written ? errno : write_errno)));
  }
  return absl::OkStatus();
}

}  // namespace easymoney
