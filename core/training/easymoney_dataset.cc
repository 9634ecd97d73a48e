#include "core/training/easymoney_dataset.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "core/util/csv_reader.h"
#include "core/model/easymoney_schema.h"
#include "core/util/progress.h"

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

int32_t DaysSinceEpoch(absl::CivilDay day) {
  return static_cast<int32_t>(day - absl::CivilDay(1970, 1, 1));
}

absl::StatusOr<std::unique_ptr<CsvReader>> OpenTable(const std::string& data_dir, absl::string_view file,
                                                     std::span<const absl::string_view> columns) {
  return CsvReader::Open((std::filesystem::path(data_dir) / std::string(file)).string(), columns);
}

// Reads every record of a table, calling `on_row(reader, partition, row)`
// with the customer's row in `ids` (records of unknown customers are
// skipped: they have no product row, so nothing could be learned from them).
template <typename OnRow>
absl::Status ForEachRecord(CsvReader& reader, const std::vector<int64_t>& ids, absl::string_view label,
                           int64_t* rows, OnRow on_row) {
  ProgressLine progress(absl::StrCat("reading ", label, " (bytes)"), reader.file_size());
  while (true) {
    auto more = reader.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    if ((++*rows & 0xffff) == 0) progress.Update(reader.bytes_read());
    int64_t id = 0;
    if (!absl::SimpleAtoi(reader.field(0), &id) || id <= 0) {
      return reader.FieldError(0, "not a positive integer customer id");
    }
    const std::optional<int> partition = PartitionIndex(reader.field(1));
    if (!partition.has_value()) return reader.FieldError(1, "not one of the 17 monthly partitions");
    const auto it = std::lower_bound(ids.begin(), ids.end(), id);
    if (it == ids.end() || *it != id) continue;
    if (auto status = on_row(reader, *partition, static_cast<size_t>(it - ids.begin())); !status.ok()) {
      return status;
    }
  }
  progress.Update(reader.bytes_read());
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> DataQualityReport::Lines() const {
  std::vector<std::string> lines = {
      absl::StrCat("rows read: ", product_rows, " products, ", activity_rows, " activity, ",
                   sociodemographic_rows, " sociodemographics"),
      absl::StrCat("invalid entry_date: ", invalid_entry_dates,
                   " rows (treated as missing; tenure imputed with the median)"),
      absl::StrCat("missing entry_channel: ", missing_entry_channels,
                   " rows (imputed with the most frequent channel)"),
      absl::StrCat("missing segment: ", missing_segments, " rows (imputed with the most frequent segment)"),
      absl::StrCat("missing salary: ", missing_salaries,
                   " rows (imputed with the median; indicator feature salary_missing = 1)"),
      absl::StrCat("salary outliers (> 10x median): ", salary_outliers,
                   " rows (log salary winsorised to the 1st..99th percentile)"),
      absl::StrCat("missing age: ", missing_ages, " rows (imputed with the median)"),
      absl::StrCat("missing gender: ", missing_genders, " rows (imputed with the most frequent)"),
      absl::StrCat("empty product flags: ", missing_product_flags, " fields (read as not held)"),
  };
  lines.push_back(absl::StrCat("zero-variance products (never held, never recommended): ",
                               zero_variance_products.empty() ? "none" : absl::StrJoin(zero_variance_products, ", ")));
  return lines;
}

absl::StatusOr<EasyMoneyTables> ReadEasyMoneyTables(const std::string& data_dir) {
  EasyMoneyTables tables;
  DataQualityReport& quality = tables.quality;

  // customer_products.csv first: it defines the customers.
  std::vector<absl::string_view> product_columns = {"pk_cid", "pk_partition"};
  for (const ProductInfo& p : kProducts) product_columns.push_back(p.id);
  auto products = OpenTable(data_dir, kProductsFile, product_columns);
  if (!products.ok()) return products.status();
  std::vector<ProductRow> rows;
  {
    CsvReader& reader = **products;
    ProgressLine progress(absl::StrCat("reading ", kProductsFile, " (bytes)"), reader.file_size());
    while (true) {
      auto more = reader.Next();
      if (!more.ok()) return more.status();
      if (!*more) break;
      int64_t id = 0;
      if (!absl::SimpleAtoi(reader.field(0), &id) || id <= 0) {
        return reader.FieldError(0, "not a positive integer customer id");
      }
      const std::optional<int> partition = PartitionIndex(reader.field(1));
      if (!partition.has_value()) return reader.FieldError(1, "not one of the 17 monthly partitions");
      uint16_t mask = 0;
      for (size_t p = 0; p < kProducts.size(); ++p) {
        const absl::string_view flag = reader.field(static_cast<int>(2 + p));
        if (flag == "1" || flag == "1.0") {
          mask = static_cast<uint16_t>(mask | (1u << p));
        } else if (flag.empty()) {
          ++quality.missing_product_flags;
          ++quality.missing_product_flags_by_partition[static_cast<size_t>(*partition)];
        } else if (flag != "0" && flag != "0.0") {
          return reader.FieldError(static_cast<int>(2 + p), "product flag must be 0 or 1");
        }
      }
      rows.push_back({id, *partition, mask});
      tables.newest_partition = std::max(tables.newest_partition, *partition);
      if ((rows.size() & 0xffff) == 0) progress.Update(reader.bytes_read());
    }
    progress.Update(reader.bytes_read());
  }
  quality.product_rows = static_cast<int64_t>(rows.size());
  if (rows.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(data_dir, "/", kProductsFile, ": no data rows"));
  }
  for (const ProductRow& row : rows) tables.customer_ids.push_back(row.customer_id);
  std::sort(tables.customer_ids.begin(), tables.customer_ids.end());
  tables.customer_ids.erase(std::unique(tables.customer_ids.begin(), tables.customer_ids.end()),
                            tables.customer_ids.end());
  const size_t n = tables.customer_ids.size();
  tables.months.resize(kPartitions.size() * n);
  uint16_t ever_held = 0;
  for (const ProductRow& row : rows) {
    const size_t index = static_cast<size_t>(
        std::lower_bound(tables.customer_ids.begin(), tables.customer_ids.end(), row.customer_id) -
        tables.customer_ids.begin());
    CustomerMonth& month = tables.months[static_cast<size_t>(row.partition) * n + index];
    if (month.present) {
      return absl::InvalidArgumentError(absl::StrCat(data_dir, "/", kProductsFile, ": customer ", row.customer_id,
                                                     " appears twice in partition ", kPartitions[row.partition]));
    }
    month.present = true;
    month.holdings = row.holdings;
    ever_held = static_cast<uint16_t>(ever_held | row.holdings);
  }
  rows.clear();
  rows.shrink_to_fit();
  for (size_t p = 0; p < kProducts.size(); ++p) {
    if (((ever_held >> p) & 1u) == 0) quality.zero_variance_products.emplace_back(kProducts[p].id);
  }

  auto activity = OpenTable(data_dir, kActivityFile, kActivityColumns);
  if (!activity.ok()) return activity.status();
  absl::flat_hash_map<std::string, int16_t> channel_index;
  auto status = ForEachRecord(
      **activity, tables.customer_ids, kActivityFile, &quality.activity_rows,
      [&](CsvReader& reader, int partition, size_t row) -> absl::Status {
        CustomerMonth& month = tables.months[static_cast<size_t>(partition) * n + row];
        if (const auto entry = ParseDate(reader.field(2)); entry.has_value()) {
          month.entry_day = DaysSinceEpoch(*entry);
        } else {
          ++quality.invalid_entry_dates;
        }
        const absl::string_view channel = reader.field(3);
        if (channel.empty()) {
          ++quality.missing_entry_channels;
        } else {
          auto [it, inserted] = channel_index.try_emplace(std::string(channel), static_cast<int16_t>(tables.channels.size()));
          if (inserted) tables.channels.emplace_back(channel);
          month.channel = it->second;
        }
        const absl::string_view active = reader.field(4);
        if (active == "1" || active == "1.0") {
          month.active = 1;
        } else if (active == "0" || active == "0.0") {
          month.active = 0;
        } else if (!active.empty()) {
          return reader.FieldError(4, "active_customer must be 0 or 1");
        }
        const absl::string_view segment = reader.field(5);
        if (segment.empty()) {
          ++quality.missing_segments;
        } else {
          const auto it = std::find(kSegments.begin(), kSegments.end(), segment);
          if (it == kSegments.end()) {
            return reader.FieldError(5, "unknown segment (expected 01 - TOP, 02 - PARTICULARES or 03 - UNIVERSITARIO)");
          }
          month.segment = static_cast<int8_t>(it - kSegments.begin());
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;

  auto socio = OpenTable(data_dir, kSociodemographicsFile, kSociodemographicsColumns);
  if (!socio.ok()) return socio.status();
  std::vector<float> salaries;
  status = ForEachRecord(
      **socio, tables.customer_ids, kSociodemographicsFile, &quality.sociodemographic_rows,
      [&](CsvReader& reader, int partition, size_t row) -> absl::Status {
        CustomerMonth& month = tables.months[static_cast<size_t>(partition) * n + row];
        month.foreign = !reader.field(2).empty() && reader.field(2) != "ES";
        int region = 0;
        if (absl::SimpleAtoi(reader.field(3), &region) && region > 0 && region < 100) {
          month.region = static_cast<int16_t>(region);
        }
        const absl::string_view gender = reader.field(4);
        if (gender == "H") {
          month.gender = 0;
        } else if (gender == "V") {
          month.gender = 1;
        } else {
          ++quality.missing_genders;
        }
        double age = 0;
        if (reader.field(5).empty()) {
          ++quality.missing_ages;
        } else if (!absl::SimpleAtod(reader.field(5), &age) || age < 0 || age > 130) {
          return reader.FieldError(5, "age must be a number between 0 and 130");
        } else {
          month.age = static_cast<int16_t>(age);
        }
        month.deceased = reader.field(6) == "S";
        double salary = 0;
        if (reader.field(7).empty()) {
          ++quality.missing_salaries;
        } else if (!absl::SimpleAtod(reader.field(7), &salary) || salary < 0) {
          return reader.FieldError(7, "salary must be a non-negative number");
        } else {
          month.salary = static_cast<float>(salary);
          salaries.push_back(month.salary);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!salaries.empty()) {
    auto middle = salaries.begin() + static_cast<std::ptrdiff_t>(salaries.size() / 2);
    std::nth_element(salaries.begin(), middle, salaries.end());
    const float median = *middle;
    quality.salary_outliers = std::count_if(salaries.begin(), salaries.end(), [&](float s) { return s > 10 * median; });
  }
  return tables;
}

EasyMoneySnapshot SnapshotAt(const EasyMoneyTables& tables, int partition) {
  EasyMoneySnapshot snapshot;
  snapshot.partition = partition;
  const std::optional<absl::CivilDay> partition_day = ParseDate(kPartitions[partition]);
  const int32_t partition_days = DaysSinceEpoch(*partition_day);
  for (size_t row = 0; row < tables.num_customers(); ++row) {
    const CustomerMonth& month = tables.at(partition, row);
    if (!month.present) continue;
    const uint16_t before = partition > 0 ? tables.at(partition - 1, row).holdings : 0;
    snapshot.customer_ids.push_back(tables.customer_ids[row]);
    snapshot.table_rows.push_back(row);
    snapshot.holdings.push_back(month.holdings);
    CustomerProfile profile;
    if (month.age >= 0) profile.age = month.age;
    if (!std::isnan(month.salary)) profile.salary = month.salary;
    if (month.entry_day != CustomerMonth::kNoDate) {
      profile.tenure_months = static_cast<double>(partition_days - month.entry_day) / 30.4375;
    }
    if (month.active >= 0) profile.active = month.active == 1;
    if (month.segment >= 0) profile.segment = std::string(kSegments[month.segment]);
    if (month.gender >= 0) profile.gender = std::string(month.gender == 0 ? "H" : "V");
    if (month.channel >= 0) profile.entry_channel = tables.channels[month.channel];
    profile.num_products = __builtin_popcount(month.holdings);
    profile.recent_acquisitions = __builtin_popcount(static_cast<unsigned>(month.holdings & ~before));
    snapshot.profiles.push_back(std::move(profile));
  }
  return snapshot;
}

}  // namespace easymoney
