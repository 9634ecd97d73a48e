#include "absl/strings/string_view.h"
#include "core/easymoney_dataset.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "core/csv_reader.h"
#include "core/easymoney_schema.h"
#include "core/progress.h"

namespace easymoney {
namespace {

struct ProductRow {
  int64_t customer_id;
  int32_t partition;
  uint16_t holdings;
};

std::optional<int> PartitionIndex(absl::string_view text) {
  const auto it = std::find(kPartitions.begin(), kPartitions.end(), text);
  if (it == kPartitions.end()) return std::nullopt;
  return static_cast<int>(it - kPartitions.begin());
}

// Strict YYYY-MM-DD: absl::CivilDay normalises 2018-02-30 to March, so the
// parsed fields are compared back to reject impossible dates.
std::optional<absl::CivilDay> ParseDate(absl::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      !absl::SimpleAtoi(text.substr(0, 4), &year) || !absl::SimpleAtoi(text.substr(5, 2), &month) ||
      !absl::SimpleAtoi(text.substr(8, 2), &day)) {
    return std::nullopt;
  }
  const absl::CivilDay date(year, month, day);
  if (date.year() != year || date.month() != month || date.day() != day) return std::nullopt;
  return date;
}

absl::StatusOr<int64_t> ParseCustomerId(const CsvReader& reader) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(reader.field(0), &id) || id <= 0) {
    return reader.FieldError(0, "not a positive integer customer id");
  }
  return id;
}

absl::StatusOr<std::unique_ptr<CsvReader>> OpenTable(const std::string& data_dir, absl::string_view file,
                                                     std::span<const absl::string_view> columns) {
  return CsvReader::Open((std::filesystem::path(data_dir) / std::string(file)).string(), columns);
}

// Row of `id` in the sorted `ids`, or nullopt.
std::optional<size_t> RowOf(const std::vector<int64_t>& ids, int64_t id) {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return std::nullopt;
  return static_cast<size_t>(it - ids.begin());
}

}  // namespace

std::string DataQualityReport::ToString() const {
  return absl::StrCat(
      "data quality: ", product_rows, " product rows read\n",
      "  invalid entry_date: ", invalid_entry_dates, " (tenure imputed with the median)\n",
      "  missing entry_channel: ", missing_entry_channels, " (not used as a feature)\n",
      "  missing segment: ", missing_segments, " (imputed with the modal segment)\n",
      "  missing salary: ", missing_salaries, " (imputed with the median, salary_missing=1)\n",
      "  missing age: ", missing_ages, " (imputed with the median)\n",
      "  customers without activity row: ", customers_without_activity, "\n",
      "  customers without sociodemographics row: ", customers_without_sociodemographics, "\n");
}

absl::StatusOr<EasyMoneySnapshot> ReadEasyMoneySnapshot(const std::string& data_dir) {
  EasyMoneySnapshot snapshot;
  DataQualityReport& quality = snapshot.quality;

  // customer_products.csv: keep compact rows, then select the newest
  // partition and the one before it (for recent acquisitions).
  std::vector<absl::string_view> product_columns = {"pk_cid", "pk_partition"};
  for (const ProductInfo& p : kProducts) product_columns.push_back(p.id);
  auto products = OpenTable(data_dir, kProductsFile, product_columns);
  if (!products.ok()) return products.status();
  std::vector<ProductRow> rows;
  int newest = -1;
  {
    ProgressLine progress(absl::StrCat("reading ", kProductsFile, " (bytes)"), (*products)->file_size());
    while (true) {
      auto more = (*products)->Next();
      if (!more.ok()) return more.status();
      if (!*more) break;
      CsvReader& reader = **products;
      auto id = ParseCustomerId(reader);
      if (!id.ok()) return id.status();
      const std::optional<int> partition = PartitionIndex(reader.field(1));
      if (!partition.has_value()) return reader.FieldError(1, "not one of the 17 monthly partitions");
      uint16_t mask = 0;
      for (size_t p = 0; p < kProducts.size(); ++p) {
        const absl::string_view flag = reader.field(static_cast<int>(2 + p));
        if (flag == "1" || flag == "1.0") {
          mask = static_cast<uint16_t>(mask | (1u << p));
        } else if (flag != "0" && flag != "0.0" && !flag.empty()) {
          return reader.FieldError(static_cast<int>(2 + p), "product flag must be 0 or 1");
        }
      }
      rows.push_back({*id, *partition, mask});
      newest = std::max(newest, *partition);
      if ((rows.size() & 0xffff) == 0) progress.Update(reader.bytes_read());
    }
    progress.Update((*products)->bytes_read());
  }
  quality.product_rows = static_cast<int64_t>(rows.size());
  if (newest < 0) {
    return absl::InvalidArgumentError(absl::StrCat(data_dir, "/", kProductsFile, ": no data rows"));
  }
  snapshot.partition = std::string(kPartitions[newest]);
  for (const ProductRow& row : rows) {
    if (row.partition == newest) snapshot.customer_ids.push_back(row.customer_id);
  }
  std::sort(snapshot.customer_ids.begin(), snapshot.customer_ids.end());
  if (std::adjacent_find(snapshot.customer_ids.begin(), snapshot.customer_ids.end()) !=
      snapshot.customer_ids.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        data_dir, "/", kProductsFile, ": a customer appears twice in partition ", snapshot.partition));
  }
  const size_t num_customers = snapshot.customer_ids.size();
  snapshot.holdings.assign(num_customers, 0);
  std::vector<uint16_t> previous(num_customers, 0);
  snapshot.profiles.resize(num_customers);
  for (const ProductRow& row : rows) {
    if (row.partition != newest && row.partition != newest - 1) continue;
    const std::optional<size_t> index = RowOf(snapshot.customer_ids, row.customer_id);
    if (!index.has_value()) continue;
    (row.partition == newest ? snapshot.holdings : previous)[*index] = row.holdings;
  }
  rows.clear();
  rows.shrink_to_fit();
  for (size_t i = 0; i < num_customers; ++i) {
    snapshot.profiles[i].num_products = __builtin_popcount(snapshot.holdings[i]);
    snapshot.profiles[i].recent_acquisitions =
        __builtin_popcount(static_cast<unsigned>(snapshot.holdings[i] & ~previous[i]));
  }
  const std::optional<absl::CivilDay> partition_day = ParseDate(snapshot.partition);

  // customer_commercial_activity.csv, newest partition only.
  auto activity = OpenTable(data_dir, kActivityFile, kActivityColumns);
  if (!activity.ok()) return activity.status();
  std::vector<uint8_t> seen(num_customers, 0);
  {
    ProgressLine progress(absl::StrCat("reading ", kActivityFile, " (bytes)"), (*activity)->file_size());
    int64_t count = 0;
    while (true) {
      auto more = (*activity)->Next();
      if (!more.ok()) return more.status();
      if (!*more) break;
      CsvReader& reader = **activity;
      if ((++count & 0xffff) == 0) progress.Update(reader.bytes_read());
      if (reader.field(1) != snapshot.partition) {
        if (!PartitionIndex(reader.field(1)).has_value()) {
          return reader.FieldError(1, "not one of the 17 monthly partitions");
        }
        continue;
      }
      auto id = ParseCustomerId(reader);
      if (!id.ok()) return id.status();
      const std::optional<size_t> index = RowOf(snapshot.customer_ids, *id);
      if (!index.has_value()) continue;
      seen[*index] = 1;
      CustomerProfile& profile = snapshot.profiles[*index];
      const std::optional<absl::CivilDay> entry = ParseDate(reader.field(2));
      if (entry.has_value() && partition_day.has_value()) {
        profile.tenure_months = static_cast<double>(*partition_day - *entry) / 30.4375;
      } else {
        ++quality.invalid_entry_dates;
      }
      if (reader.field(3).empty()) ++quality.missing_entry_channels;
      const absl::string_view active = reader.field(4);
      if (active == "1" || active == "1.0") {
        profile.active = true;
      } else if (active == "0" || active == "0.0") {
        profile.active = false;
      } else if (!active.empty()) {
        return reader.FieldError(4, "active_customer must be 0 or 1");
      }
      const absl::string_view segment = reader.field(5);
      if (segment.empty()) {
        ++quality.missing_segments;
      } else if (std::find(kSegments.begin(), kSegments.end(), segment) == kSegments.end()) {
        return reader.FieldError(5, "unknown segment (expected 01 - TOP, 02 - PARTICULARES or 03 - UNIVERSITARIO)");
      } else {
        profile.segment = std::string(segment);
      }
    }
    progress.Update((*activity)->bytes_read());
  }
  quality.customers_without_activity = static_cast<int64_t>(std::count(seen.begin(), seen.end(), 0));

  // customer_sociodemographics.csv, newest partition only.
  auto socio = OpenTable(data_dir, kSociodemographicsFile, kSociodemographicsColumns);
  if (!socio.ok()) return socio.status();
  std::fill(seen.begin(), seen.end(), 0);
  {
    ProgressLine progress(absl::StrCat("reading ", kSociodemographicsFile, " (bytes)"), (*socio)->file_size());
    int64_t count = 0;
    while (true) {
      auto more = (*socio)->Next();
      if (!more.ok()) return more.status();
      if (!*more) break;
      CsvReader& reader = **socio;
      if ((++count & 0xffff) == 0) progress.Update(reader.bytes_read());
      if (reader.field(1) != snapshot.partition) continue;
      auto id = ParseCustomerId(reader);
      if (!id.ok()) return id.status();
      const std::optional<size_t> index = RowOf(snapshot.customer_ids, *id);
      if (!index.has_value()) continue;
      seen[*index] = 1;
      CustomerProfile& profile = snapshot.profiles[*index];
      const absl::string_view gender = reader.field(4);
      if (gender == "H" || gender == "V") profile.gender = std::string(gender);
      double age = 0;
      if (reader.field(5).empty()) {
        ++quality.missing_ages;
      } else if (!absl::SimpleAtod(reader.field(5), &age) || age < 0 || age > 130) {
        return reader.FieldError(5, "age must be a number between 0 and 130");
      } else {
        profile.age = age;
      }
      double salary = 0;
      if (reader.field(7).empty()) {
        ++quality.missing_salaries;
      } else if (!absl::SimpleAtod(reader.field(7), &salary) || salary < 0) {
        return reader.FieldError(7, "salary must be a non-negative number");
      } else {
        profile.salary = salary;
      }
    }
    progress.Update((*socio)->bytes_read());
  }
  quality.customers_without_sociodemographics = static_cast<int64_t>(std::count(seen.begin(), seen.end(), 0));
  return snapshot;
}

}  // namespace easymoney
