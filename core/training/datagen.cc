#include "core/training/datagen.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "core/model/easymoney_schema.h"
#include "core/util/progress.h"

namespace easymoney {
namespace {

// ---------------------------------------------------------------------------
// Random numbers. Only the raw 64-bit output of std::mt19937_64 is specified
// by the standard; every transform is ours so that files are identical
// whatever the standard library.

class RandomSource {
 public:
  explicit RandomSource(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  bool Bernoulli(double probability) { return Uniform() < probability; }

  // Uniform integer in [low, high]. The modulo bias is below 2^-40 for the
  // ranges used here.
  int64_t UniformInt(int64_t low, int64_t high) {
    const uint64_t span = static_cast<uint64_t>(high - low) + 1;
    return low + static_cast<int64_t>(engine_() % span);
  }

  // Standard normal by Box-Muller (one of the pair is discarded; simplicity
  // over speed, this is not on the per-row path).
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1], so log is finite.
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  double Exponential(double mean) { return -mean * std::log(1.0 - Uniform()); }

 private:
  std::mt19937_64 engine_;
};

// A categorical distribution over 0..n-1 given non-negative weights.
class WeightedChoice {
 public:
  explicit WeightedChoice(const std::vector<double>& weights) {
    double total = 0.0;
    cumulative_.reserve(weights.size());
    for (double weight : weights) {
      total += weight;
      cumulative_.push_back(total);
    }
    for (double& value : cumulative_) value /= total;
  }

  int Pick(RandomSource& random) const {
    const double u = random.Uniform();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
    return static_cast<int>(std::min<std::ptrdiff_t>(it - cumulative_.begin(),
                                                     std::ssize(cumulative_) - 1));
  }

 private:
  std::vector<double> cumulative_;
};

// ---------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, days since 1970-01-01), after
// Howard Hinnant's days_from_civil, so no time zone or locale is involved.

int64_t DaysFromCivil(int year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const int year_of_era = year - era * 400;
  const int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return static_cast<int64_t>(era) * 146097 + day_of_era - 719468;
}

struct CivilDate {
  int year;
  int month;
  int day;
};

CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  const int day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int year = static_cast<int>(year_of_era + era * 400 + (month <= 2 ? 1 : 0));
  return {year, month, day};
}

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::string FormatDate(int year, int month, int day) {
  return absl::StrFormat("%04d-%02d-%02d", year, month, day);
}

// True for a well-formed YYYY-MM-DD that names a real calendar day. Used by
// the profile to count the dirt actually written, not the dirt intended.
bool IsValidIsoDate(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  int year = 0, month = 0, day = 0;
  if (std::from_chars(text.data(), text.data() + 4, year).ptr != text.data() + 4) return false;
  if (std::from_chars(text.data() + 5, text.data() + 7, month).ptr != text.data() + 7) return false;
  if (std::from_chars(text.data() + 8, text.data() + 10, day).ptr != text.data() + 10) return false;
  return month >= 1 && month <= 12 && day >= 1 && day <= DaysInMonth(year, month);
}

// Year and month of kPartitions[partition_index] ("2018-07-28").
std::pair<int, int> PartitionYearMonth(int partition_index) {
  const absl::string_view text = kPartitions[partition_index];
  int year = 0, month = 0;
  std::from_chars(text.data(), text.data() + 4, year);
  std::from_chars(text.data() + 5, text.data() + 7, month);
  return {year, month};
}

// ---------------------------------------------------------------------------
// Products, by the column names of the schema so a reordering there cannot
// silently mislabel the generated columns.

constexpr int ProductIndex(absl::string_view id) {
  for (size_t i = 0; i < kProducts.size(); ++i) {
    if (kProducts[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

constexpr int kShortTermDeposit = ProductIndex("short_term_deposit");
constexpr int kLoans = ProductIndex("loans");
constexpr int kMortgage = ProductIndex("mortgage");
constexpr int kFunds = ProductIndex("funds");
constexpr int kSecurities = ProductIndex("securities");
constexpr int kLongTermDeposit = ProductIndex("long_term_deposit");
constexpr int kEmAccountPP = ProductIndex("em_account_pp");
constexpr int kCreditCard = ProductIndex("credit_card");
constexpr int kPayroll = ProductIndex("payroll");
constexpr int kPensionPlan = ProductIndex("pension_plan");
constexpr int kPayrollAccount = ProductIndex("payroll_account");
constexpr int kEmcAccount = ProductIndex("emc_account");
constexpr int kDebitCard = ProductIndex("debit_card");
constexpr int kEmAccountP = ProductIndex("em_account_p");
constexpr int kEmAcount = ProductIndex("em_acount");
static_assert(kShortTermDeposit >= 0 && kLoans >= 0 && kMortgage >= 0 && kFunds >= 0 &&
                  kSecurities >= 0 && kLongTermDeposit >= 0 && kEmAccountPP >= 0 &&
                  kCreditCard >= 0 && kPayroll >= 0 && kPensionPlan >= 0 &&
                  kPayrollAccount >= 0 && kEmcAccount >= 0 && kDebitCard >= 0 &&
                  kEmAccountP >= 0 && kEmAcount >= 0,
              "every modelled product must be a column of kProducts");
static_assert(kProducts.size() <= 16, "holdings are a 16-bit mask");

using Holdings = uint16_t;

constexpr Holdings Bit(int product) { return static_cast<Holdings>(1u << product); }
constexpr bool Holds(Holdings holdings, int product) { return (holdings & Bit(product)) != 0; }

enum LifeStage : int { kMinor, kStudent, kYoungProfessional, kEstablished, kSenior, kNumLifeStages };

LifeStage LifeStageForAge(int age) {
  if (age < 18) return kMinor;
  if (age < 25) return kStudent;
  if (age < 35) return kYoungProfessional;
  if (age < 60) return kEstablished;
  return kSenior;
}

constexpr int kSegmentTop = 0;
constexpr int kSegmentParticulares = 1;
constexpr int kSegmentUniversitario = 2;
constexpr int kMissing = -1;

// How one product's propensity depends on the customer. The propensity is the
// long-run probability of holding the product; month to month a customer
// acquires it with probability turnover * propensity and drops it with
// turnover * (1 - propensity), so initial holdings drawn from the propensity
// stay in balance while individual customers keep moving. Bases were fitted
// (by running --profile) so that ownership over all rows matches the real set.
struct ProductModel {
  int product;
  double base;
  double monthly_turnover;
  std::array<double, kNumLifeStages> stage_factor;  // minor, student, young, established, senior.
  // Propensity scales with (salary / median) ^ salary_exponent.
  double salary_exponent;
  std::array<double, 3> segment_factor;  // TOP, PARTICULARES, UNIVERSITARIO.
  double active_factor;
  double inactive_factor;
};

// Evaluation order matters within a month: a product sees the holdings
// already updated this month, so bundles form in one step (payroll first,
// then the pension plan and payroll account that come with it).
// em_account_pp is absent: the real set never has it.
constexpr std::array<ProductModel, 14> kProductModels = {{
    // product, base, turnover, stage factors, salary exp, segment factors, active, inactive
    {kPayroll, 0.037, 0.06, {0.0, 0.15, 2.0, 2.4, 0.7}, 0.2, {1.6, 1.0, 0.5}, 1.6, 0.35},
    {kPensionPlan, 0.006, 0.04, {0.0, 0.1, 1.0, 2.0, 2.0}, 0.3, {2.0, 1.0, 0.5}, 1.2, 0.8},
    {kPayrollAccount, 0.038, 0.03, {0.0, 0.3, 2.0, 2.0, 1.2}, 0.2, {1.5, 1.0, 0.6}, 1.3, 0.8},
    {kEmcAccount, 0.073, 0.03, {0.0, 0.6, 1.5, 1.4, 1.2}, 0.0, {1.5, 1.0, 0.8}, 1.3, 0.8},
    {kEmAcount, 0.76, 0.02, {1.0, 1.0, 1.0, 1.0, 1.0}, 0.0, {1.0, 1.0, 1.0}, 1.0, 1.0},
    {kDebitCard, 0.0865, 0.04, {0.0, 0.7, 1.4, 1.3, 0.9}, 0.0, {1.3, 1.0, 0.9}, 1.5, 0.7},
    {kCreditCard, 0.0102, 0.03, {0.0, 0.15, 1.5, 2.0, 1.2}, 0.5, {3.0, 1.3, 0.4}, 1.4, 0.7},
    {kLongTermDeposit, 0.012, 0.02, {0.0, 0.15, 0.8, 2.0, 3.5}, 0.7, {6.0, 1.4, 0.3}, 1.1, 0.9},
    {kFunds, 0.0013, 0.02, {0.0, 0.1, 0.7, 2.0, 3.0}, 0.8, {8.0, 1.4, 0.2}, 1.1, 0.9},
    {kSecurities, 0.0025, 0.02, {0.0, 0.2, 1.0, 2.0, 2.5}, 0.8, {6.0, 1.3, 0.3}, 1.1, 0.9},
    {kShortTermDeposit, 0.003, 0.06, {0.0, 0.3, 1.0, 2.0, 2.0}, 0.5, {4.0, 1.3, 0.4}, 1.1, 0.9},
    {kLoans, 0.00005, 0.03, {0.0, 0.0, 1.0, 1.5, 0.5}, 0.3, {1.0, 1.0, 1.0}, 1.0, 1.0},
    {kMortgage, 0.0001, 0.01, {0.0, 0.0, 1.0, 1.5, 0.3}, 0.3, {1.0, 1.0, 1.0}, 1.0, 1.0},
    {kEmAccountP, 0.00006, 0.01, {0.0, 0.0, 1.0, 1.0, 1.0}, 0.0, {1.0, 1.0, 1.0}, 1.0, 1.0},
}};

constexpr double kMaxPropensity = 0.95;
// Probability that the payroll's companions arrive in the same month.
constexpr double kPensionWithPayroll = 0.95;
constexpr double kPayrollAccountWithPayroll = 0.6;
// Probability that the pension plan goes when the payroll goes.
constexpr double kPensionLeavesWithPayroll = 0.9;
// Newcomers hold only the basic account at first; other products come later.
constexpr double kNewcomerEmAcount = 0.80;
constexpr double kNewcomerOtherProductsFactor = 0.25;

// The long-run propensity for `model.product` given what the customer holds
// now and whether they are active. This is where holdings shape acquisition.
double EffectivePropensity(const ProductModel& model, float static_propensity, Holdings holdings,
                           bool active) {
  double propensity = static_propensity * (active ? model.active_factor : model.inactive_factor);
  switch (model.product) {
    case kPayroll:
      if (Holds(holdings, kPayrollAccount)) propensity *= 3.0;
      break;
    case kPensionPlan:
      // Payroll customers are enrolled in the pension plan as a package.
      if (Holds(holdings, kPayroll)) return 0.97;
      break;
    case kPayrollAccount:
      if (Holds(holdings, kPayroll)) propensity = std::max(propensity, 0.65);
      break;
    case kEmAcount:
      // The other current accounts replace rather than add to em_acount.
      if (Holds(holdings, kEmcAccount) || Holds(holdings, kPayrollAccount)) propensity *= 0.5;
      break;
    case kDebitCard:
      if (Holds(holdings, kEmcAccount) || Holds(holdings, kPayrollAccount)) propensity *= 3.0;
      break;
    case kCreditCard:
      if (Holds(holdings, kPayroll)) propensity *= 2.5;
      break;
    case kFunds:
      if (Holds(holdings, kSecurities) || Holds(holdings, kLongTermDeposit)) propensity *= 3.0;
      break;
    case kSecurities:
      if (Holds(holdings, kFunds) || Holds(holdings, kLongTermDeposit)) propensity *= 3.0;
      break;
    default:
      break;
  }
  return std::min(propensity, kMaxPropensity);
}

// ---------------------------------------------------------------------------
// Customers.

constexpr int kFirstPartition = 0;
constexpr int kSpikePartition = 6;  // 2018-07-28, a mass-acquisition campaign.
static_assert(kPartitions[kSpikePartition] == "2018-07-28");
constexpr double kFirstPartitionJoinShare = 0.524;
constexpr double kSpikeJoinShare = 0.184;

constexpr int64_t kMinCid = 15000;
constexpr int64_t kDefaultMaxCid = 1600000;

constexpr double kMedianSalary = 88655.0;
constexpr double kSalaryLogSigma = 0.62;
constexpr double kSalaryOutlierRate = 0.0004;
constexpr double kInvalidEntryDateRate = 0.0005;
constexpr double kMissingChannelRate = 0.01;
constexpr double kMissingSegmentRate = 0.01;
constexpr double kSpainRate = 0.995;
// Month-to-month rate at which activity moves towards the customer's own
// propensity to be active.
constexpr double kActivityMixingRate = 0.15;

constexpr std::array<absl::string_view, 12> kForeignCountries = {
    "GB", "FR", "DE", "US", "CH", "IT", "PT", "MX", "AR", "BR", "VE", "BE"};
constexpr std::array<double, 12> kForeignCountryWeights = {20, 18, 15, 10, 8, 7, 6, 5, 4, 3, 2, 2};

struct ChannelWeight {
  absl::string_view channel;
  double weight;
};
constexpr std::array<ChannelWeight, 24> kChannels = {{
    {"KHE", 34.0}, {"KFC", 22.0}, {"KHQ", 15.0}, {"KAT", 13.0}, {"KFA", 3.0},  {"KHK", 2.5},
    {"KHM", 2.0},  {"KHD", 1.7},  {"KHN", 1.5},  {"KAS", 1.0},  {"RED", 0.8},  {"KHL", 0.6},
    {"KHF", 0.5},  {"KHO", 0.4},  {"KAZ", 0.3},  {"KBZ", 0.3},  {"KHC", 0.2},  {"KCC", 0.1},
    {"KFD", 0.1},  {"KAG", 0.08}, {"KAA", 0.06}, {"KAB", 0.05}, {"KCH", 0.04}, {"KEH", 0.03},
}};

struct Customer {
  int64_t cid = 0;
  int join_partition = 0;
  // Age is drawn for the last partition, where the profile measures it, and
  // counted back to earlier partitions.
  int age_at_last_partition = 0;
  // Months since the last birthday at the last partition, 0..11.
  int months_since_birthday = 0;
  LifeStage stage = kStudent;
  int64_t salary_cents = kMissing;
  int segment = kMissing;
  int channel = kMissing;
  double activity_propensity = 0.0;
  bool active = false;
  Holdings holdings = 0;
  std::array<float, kProducts.size()> static_propensity{};
  // Row text that never changes, built once: "<cid>,", "<entry_date>,<channel>,",
  // "<country>,<region>,<gender>," and ",<deceased>,<salary>\n".
  std::string cid_prefix;
  std::string activity_head;
  std::string sociodemographics_head;
  std::string sociodemographics_tail;
  std::string entry_date;
  absl::string_view country;
  int region_code = 0;  // 0 = missing.
  char gender = 'H';
  char deceased = 'N';
};

std::vector<int64_t> DrawDistinctCids(int64_t count, RandomSource& random) {
  // Stay in the real set's id range while it is comfortably larger than the
  // request; widen it otherwise so rejection sampling stays fast.
  const int64_t max_cid = std::max(kDefaultMaxCid, kMinCid + 3 * count);
  std::vector<bool> taken(static_cast<size_t>(max_cid - kMinCid + 1), false);
  std::vector<int64_t> cids;
  cids.reserve(static_cast<size_t>(count));
  while (std::ssize(cids) < count) {
    const int64_t cid = random.UniformInt(kMinCid, max_cid);
    if (taken[static_cast<size_t>(cid - kMinCid)]) continue;
    taken[static_cast<size_t>(cid - kMinCid)] = true;
    cids.push_back(cid);
  }
  std::sort(cids.begin(), cids.end());
  return cids;
}

int DrawJoinPartition(RandomSource& random) {
  const double u = random.Uniform();
  if (u < kFirstPartitionJoinShare) return kFirstPartition;
  if (u < kFirstPartitionJoinShare + kSpikeJoinShare) return kSpikePartition;
  // Evenly over the other partitions.
  int other = static_cast<int>(random.UniformInt(1, std::ssize(kPartitions) - 2));
  if (other >= kSpikePartition) ++other;
  return other;
}

int DrawAge(RandomSource& random) {
  // Life-stage mixture; many university students make the median about 25.
  static const WeightedChoice kStageMix({0.025, 0.47, 0.17, 0.26, 0.075});
  const double u1 = random.Uniform();
  const double u2 = random.Uniform();
  switch (kStageMix.Pick(random)) {
    case kMinor:
      return static_cast<int>(random.UniformInt(2, 17));
    case kStudent:
      return 18 + static_cast<int>(7.0 * (u1 + u2) / 2.0);  // Peaks at 21.
    case kYoungProfessional:
      return static_cast<int>(random.UniformInt(25, 34));
    case kEstablished:
      return 35 + static_cast<int>(25.0 * (u1 + u2) / 2.0);  // Peaks at 47.
    default:
      return std::min(105, 60 + static_cast<int>(random.Exponential(10.0)));
  }
}

int64_t DrawSalaryCents(LifeStage stage, RandomSource& random) {
  static constexpr std::array<double, kNumLifeStages> kMissingRate = {0.45, 0.33, 0.18, 0.15, 0.2};
  static constexpr std::array<double, kNumLifeStages> kLogShift = {-0.05, -0.1, 0.0, 0.12, 0.05};
  if (random.Bernoulli(kMissingRate[stage])) return kMissing;
  double salary = kMedianSalary * std::exp(kLogShift[stage] + kSalaryLogSigma * random.Normal());
  // Realistic dirt: a few absurd incomes, as in the real set.
  if (random.Bernoulli(kSalaryOutlierRate)) salary = 5.0e6 + 2.3e7 * random.Uniform();
  salary = std::max(salary, 1202.73);
  return std::llround(salary * 100.0);
}

int DrawSegment(LifeStage stage, int64_t salary_cents, RandomSource& random) {
  if (random.Bernoulli(kMissingSegmentRate)) return kMissing;
  const bool high_salary = salary_cents >= 0 && salary_cents > 150000 * 100;
  double top = 0.0, particulares = 0.0;  // The rest is UNIVERSITARIO.
  switch (stage) {
    case kMinor:
      particulares = 0.15;
      break;
    case kStudent:
      top = 0.003;
      particulares = 0.075;
      break;
    case kYoungProfessional:
      top = high_salary ? 0.15 : 0.02;
      particulares = 0.5;
      break;
    case kEstablished:
      top = high_salary ? 0.25 : 0.04;
      particulares = 0.94 - top;
      break;
    default:
      top = high_salary ? 0.25 : 0.05;
      particulares = 0.97 - top;
      break;
  }
  const double u = random.Uniform();
  if (u < top) return kSegmentTop;
  if (u < top + particulares) return kSegmentParticulares;
  return kSegmentUniversitario;
}

// Entry-channel tables per life stage: campus campaigns (KHE) bring students,
// branches and agents (KAT, KFC) older customers.
std::vector<WeightedChoice> MakeChannelChoices() {
  std::vector<WeightedChoice> choices;
  for (int stage = 0; stage < kNumLifeStages; ++stage) {
    std::vector<double> weights;
    for (const ChannelWeight& channel : kChannels) {
      double weight = channel.weight;
      const bool older = stage == kEstablished || stage == kSenior;
      if (channel.channel == "KHE") weight *= stage == kStudent ? 1.6 : (older ? 0.35 : 1.0);
      if (channel.channel == "KAT") weight *= stage == kStudent ? 0.5 : (older ? 1.8 : 1.0);
      if (channel.channel == "KFC") weight *= stage == kStudent ? 0.7 : (older ? 1.4 : 1.0);
      weights.push_back(weight);
    }
    choices.emplace_back(weights);
  }
  return choices;
}

WeightedChoice MakeRegionChoice() {
  // Madrid, Barcelona, Valencia, Murcia, Sevilla, ... ; the rest evenly.
  static constexpr std::array<std::pair<int, double>, 21> kLargeRegions = {{
      {28, 0.20}, {8, 0.08},   {46, 0.065}, {30, 0.05},  {41, 0.05},  {15, 0.04},  {3, 0.04},
      {29, 0.04}, {50, 0.035}, {36, 0.03},  {11, 0.03},  {45, 0.025}, {47, 0.02},  {33, 0.02},
      {18, 0.02}, {35, 0.02},  {6, 0.015},  {37, 0.015}, {10, 0.015}, {2, 0.013},  {13, 0.013},
  }};
  std::vector<double> weights(52, 0.0);
  double assigned = 0.0;
  for (const auto& [region, weight] : kLargeRegions) {
    weights[region - 1] = weight;
    assigned += weight;
  }
  const double rest = (1.0 - assigned) / static_cast<double>(52 - kLargeRegions.size());
  for (double& weight : weights) {
    if (weight == 0.0) weight = rest;
  }
  return WeightedChoice(weights);
}

std::string DrawEntryDate(int join_partition, RandomSource& random) {
  if (join_partition == kFirstPartition) {
    if (random.Bernoulli(kInvalidEntryDateRate)) {
      static constexpr std::array<absl::string_view, 6> kImpossibleDates = {
          "2015-02-29", "2016-02-30", "2017-02-29", "2017-04-31", "2016-06-31", "2015-09-31"};
      return std::string(kImpossibleDates[random.UniformInt(0, kImpossibleDates.size() - 1)]);
    }
    const int64_t first = DaysFromCivil(2015, 1, 1);
    const int64_t last = DaysFromCivil(2018, 1, 28);
    const CivilDate date = CivilFromDays(random.UniformInt(first, last));
    return FormatDate(date.year, date.month, date.day);
  }
  const auto [year, month] = PartitionYearMonth(join_partition);
  if (random.Bernoulli(kInvalidEntryDateRate)) {
    // One day past the end of the month, or February 30th for 31-day months.
    const int days = DaysInMonth(year, month);
    return days == 31 ? FormatDate(year, 2, 30) : FormatDate(year, month, days + 1);
  }
  return FormatDate(year, month, static_cast<int>(random.UniformInt(1, 28)));
}

void ComputeStaticPropensities(Customer& customer) {
  const double salary_ratio =
      customer.salary_cents < 0
          ? 0.8
          : std::clamp(static_cast<double>(customer.salary_cents) / (100.0 * kMedianSalary), 0.25,
                       4.0);
  for (const ProductModel& model : kProductModels) {
    double propensity = model.base * model.stage_factor[customer.stage] *
                        std::pow(salary_ratio, model.salary_exponent);
    if (customer.segment != kMissing) propensity *= model.segment_factor[customer.segment];
    customer.static_propensity[model.product] = static_cast<float>(propensity);
  }
}

std::string FormatSalary(int64_t salary_cents) {
  if (salary_cents < 0) return "";
  return absl::StrFormat("%d.%02d", salary_cents / 100, salary_cents % 100);
}

std::vector<Customer> MakeCustomers(int64_t count, RandomSource& random) {
  const std::vector<int64_t> cids = DrawDistinctCids(count, random);
  const std::vector<WeightedChoice> channel_choices = MakeChannelChoices();
  const WeightedChoice region_choice = MakeRegionChoice();
  const WeightedChoice foreign_choice(
      std::vector<double>(kForeignCountryWeights.begin(), kForeignCountryWeights.end()));
  static constexpr std::array<double, kNumLifeStages> kActivityBase = {0.08, 0.24, 0.45, 0.58, 0.5};

  std::vector<Customer> customers(cids.size());
  for (size_t i = 0; i < cids.size(); ++i) {
    Customer& customer = customers[i];
    customer.cid = cids[i];
    customer.join_partition = DrawJoinPartition(random);
    customer.age_at_last_partition = DrawAge(random);
    customer.months_since_birthday = static_cast<int>(random.UniformInt(0, 11));
    customer.stage = LifeStageForAge(customer.age_at_last_partition);
    customer.salary_cents = DrawSalaryCents(customer.stage, random);
    customer.segment = DrawSegment(customer.stage, customer.salary_cents, random);
    customer.channel = random.Bernoulli(kMissingChannelRate)
                           ? kMissing
                           : channel_choices[customer.stage].Pick(random);
    customer.gender = random.Bernoulli(0.52) ? 'H' : 'V';
    if (random.Bernoulli(kSpainRate)) {
      customer.country = "ES";
      customer.region_code = region_choice.Pick(random) + 1;
    } else {
      customer.country = kForeignCountries[foreign_choice.Pick(random)];
    }
    customer.deceased = random.Bernoulli(customer.stage == kSenior ? 0.004 : 0.0002) ? 'S' : 'N';
    customer.entry_date = DrawEntryDate(customer.join_partition, random);

    double activity = kActivityBase[customer.stage] + 0.3 * (random.Uniform() - 0.5);
    if (customer.segment == kSegmentTop) activity += 0.2;
    customer.activity_propensity = std::clamp(activity, 0.02, 0.98);
    ComputeStaticPropensities(customer);

    customer.cid_prefix = absl::StrCat(customer.cid, ",");
    customer.activity_head = absl::StrCat(
        customer.entry_date, ",",
        customer.channel == kMissing ? absl::string_view() : kChannels[customer.channel].channel,
        ",");
    customer.sociodemographics_head = absl::StrCat(
        customer.country, ",",
        customer.region_code == 0 ? std::string() : absl::StrCat(customer.region_code), ",",
        absl::string_view(&customer.gender, 1), ",");
    customer.sociodemographics_tail = absl::StrCat(",", absl::string_view(&customer.deceased, 1),
                                                   ",", FormatSalary(customer.salary_cents), "\n");
  }
  return customers;
}

// ---------------------------------------------------------------------------
// Month-to-month evolution.

void AcquirePayrollBundle(Customer& customer, RandomSource& random) {
  if (random.Bernoulli(kPensionWithPayroll)) customer.holdings |= Bit(kPensionPlan);
  if (!Holds(customer.holdings, kPayrollAccount) && random.Bernoulli(kPayrollAccountWithPayroll)) {
    customer.holdings |= Bit(kPayrollAccount);
  }
}

// Holdings and activity in the customer's first partition. Customers present
// from the start have had years to build a portfolio, so they start in the
// long-run balance; later joiners start with the basic account.
void StartCustomer(Customer& customer, bool newcomer, RandomSource& random) {
  customer.active = random.Bernoulli(customer.activity_propensity);
  customer.holdings = 0;
  for (const ProductModel& model : kProductModels) {
    double propensity = EffectivePropensity(model, customer.static_propensity[model.product],
                                            customer.holdings, customer.active);
    if (newcomer) {
      propensity = model.product == kEmAcount ? kNewcomerEmAcount
                                              : propensity * kNewcomerOtherProductsFactor;
    }
    if (propensity <= 0.0 || Holds(customer.holdings, model.product)) continue;
    if (random.Bernoulli(propensity)) customer.holdings |= Bit(model.product);
  }
  if (Holds(customer.holdings, kPayroll)) customer.active = true;
}

void AdvanceOneMonth(Customer& customer, RandomSource& random) {
  const double switch_probability =
      kActivityMixingRate *
      (customer.active ? 1.0 - customer.activity_propensity : customer.activity_propensity);
  if (random.Bernoulli(switch_probability)) customer.active = !customer.active;

  for (const ProductModel& model : kProductModels) {
    const double propensity = EffectivePropensity(model, customer.static_propensity[model.product],
                                                  customer.holdings, customer.active);
    if (propensity <= 0.0) continue;
    if (Holds(customer.holdings, model.product)) {
      if (!random.Bernoulli(model.monthly_turnover * (1.0 - propensity))) continue;
      customer.holdings &= static_cast<Holdings>(~Bit(model.product));
      if (model.product == kPayroll && random.Bernoulli(kPensionLeavesWithPayroll)) {
        customer.holdings &= static_cast<Holdings>(~Bit(kPensionPlan));
      }
    } else {
      if (!random.Bernoulli(model.monthly_turnover * propensity)) continue;
      customer.holdings |= Bit(model.product);
      if (model.product == kPayroll) AcquirePayrollBundle(customer, random);
    }
  }
  // Salary paid in is activity.
  if (Holds(customer.holdings, kPayroll)) customer.active = true;
}

// ---------------------------------------------------------------------------
// Output.

// One CSV table being written: rows are appended to buffer() and written in
// large chunks. Written as "<name>.partial" and renamed by Close(), so a
// failed run never leaves a table that looks complete. Not thread-safe.
class TableWriter {
 public:
  static absl::StatusOr<std::unique_ptr<TableWriter>> Create(const std::filesystem::path& path) {
    std::filesystem::path partial_path = path;
    partial_path += ".partial";
    std::FILE* file = std::fopen(partial_path.c_str(), "wb");
    if (file == nullptr) {
      return absl::InternalError(absl::StrCat("cannot open '", partial_path.string(),
                                              "' for writing: ", std::strerror(errno)));
    }
    return std::unique_ptr<TableWriter>(new TableWriter(path, std::move(partial_path), file));
  }

  ~TableWriter() {
    if (file_ != nullptr) {
      std::fclose(file_);
      std::error_code ignored;
      std::filesystem::remove(partial_path_, ignored);
    }
  }

  TableWriter(const TableWriter&) = delete;
  TableWriter& operator=(const TableWriter&) = delete;

  std::string& buffer() { return buffer_; }

  absl::Status FlushIfFull() {
    return buffer_.size() >= kFlushBytes ? Flush() : absl::OkStatus();
  }

  absl::Status Close() {
    if (absl::Status status = Flush(); !status.ok()) return status;
    const int close_result = std::fclose(file_);
    file_ = nullptr;
    if (close_result != 0) {
      return absl::InternalError(
          absl::StrCat("cannot close '", partial_path_.string(), "': ", std::strerror(errno)));
    }
    std::error_code error;
    std::filesystem::rename(partial_path_, path_, error);
    if (error) {
      return absl::InternalError(absl::StrCat("cannot rename '", partial_path_.string(), "' to '",
                                              path_.string(), "': ", error.message()));
    }
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kFlushBytes = size_t{8} << 20;

  TableWriter(std::filesystem::path path, std::filesystem::path partial_path, std::FILE* file)
      : path_(std::move(path)), partial_path_(std::move(partial_path)), file_(file) {
    buffer_.reserve(kFlushBytes + (size_t{64} << 10));
  }

  absl::Status Flush() {
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      return absl::InternalError(
          absl::StrCat("cannot write '", partial_path_.string(), "': ", std::strerror(errno)));
    }
    buffer_.clear();
    return absl::OkStatus();
  }

  std::filesystem::path path_;
  std::filesystem::path partial_path_;
  std::FILE* file_;
  std::string buffer_;
};

template <size_t N>
std::string HeaderLine(const std::array<absl::string_view, N>& columns) {
  std::string line;
  for (size_t i = 0; i < N; ++i) {
    absl::StrAppend(&line, i > 0 ? "," : "", columns[i]);
  }
  line += '\n';
  return line;
}

std::string ProductsHeaderLine() {
  std::string line = "pk_cid,pk_partition";
  for (const ProductInfo& product : kProducts) absl::StrAppend(&line, ",", product.id);
  line += '\n';
  return line;
}

// absl::string_view is not std::string_view in this Abseil build, so
// std::string::append(string_view) does not apply.
void AppendText(std::string& out, absl::string_view text) { out.append(text.data(), text.size()); }

void AppendInt(std::string& out, int64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

// Collects the customer-level statistics from the last partition's rows.
class LastPartitionStats {
 public:
  void Add(const Customer& customer, int age) {
    ++age_counts_[std::clamp(age, 0, kMaxAge)];
    if (customer.gender == 'H') ++gender_h_;
    if (customer.country == "ES") {
      ++country_es_;
      if (customer.region_code == 28) ++region_madrid_;
    }
    if (customer.salary_cents < 0) {
      ++salary_missing_;
    } else {
      salaries_cents_.push_back(customer.salary_cents);
    }
    if (customer.segment == kMissing) {
      ++segment_missing_;
    } else {
      ++segment_customers_[customer.segment];
    }
    if (customer.channel == kMissing) {
      ++channel_missing_;
    } else {
      ++channel_customers_[kChannels[customer.channel].channel];
    }
    if (!customer.active) ++inactive_;
    if (!IsValidIsoDate(customer.entry_date)) ++invalid_entry_dates_;
    if (customer.deceased == 'S') ++deceased_;
  }

  void Fill(DatagenProfile& profile) {
    int64_t total = 0;
    for (int64_t count : age_counts_) total += count;
    int64_t seen = 0;
    bool have_min = false;
    for (int age = 0; age <= kMaxAge; ++age) {
      if (age_counts_[age] == 0) continue;
      if (!have_min) {
        profile.min_age = age;
        have_min = true;
      }
      profile.max_age = age;
      if (seen < (total + 1) / 2 && seen + age_counts_[age] >= (total + 1) / 2) {
        profile.median_age = age;
      }
      seen += age_counts_[age];
    }
    profile.gender_h = gender_h_;
    profile.country_es = country_es_;
    profile.region_madrid = region_madrid_;
    profile.salary_missing = salary_missing_;
    if (!salaries_cents_.empty()) {
      auto middle = salaries_cents_.begin() + std::ssize(salaries_cents_) / 2;
      std::nth_element(salaries_cents_.begin(), middle, salaries_cents_.end());
      profile.median_salary = static_cast<double>(*middle) / 100.0;
      profile.max_salary =
          static_cast<double>(*std::max_element(salaries_cents_.begin(), salaries_cents_.end())) /
          100.0;
    }
    profile.segment_customers = segment_customers_;
    profile.segment_missing = segment_missing_;
    for (const auto& [channel, customers] : channel_customers_) {
      profile.entry_channel_customers.emplace_back(std::string(channel), customers);
    }
    std::stable_sort(profile.entry_channel_customers.begin(),
                     profile.entry_channel_customers.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    profile.entry_channel_missing = channel_missing_;
    profile.inactive = inactive_;
    profile.invalid_entry_dates = invalid_entry_dates_;
    profile.deceased = deceased_;
  }

 private:
  static constexpr int kMaxAge = 127;
  std::array<int64_t, kMaxAge + 1> age_counts_{};
  int64_t gender_h_ = 0;
  int64_t country_es_ = 0;
  int64_t region_madrid_ = 0;
  int64_t salary_missing_ = 0;
  std::vector<int64_t> salaries_cents_;
  std::array<int64_t, kSegments.size()> segment_customers_{};
  int64_t segment_missing_ = 0;
  std::map<absl::string_view, int64_t> channel_customers_;  // Sorted by name for stable ties.
  int64_t channel_missing_ = 0;
  int64_t inactive_ = 0;
  int64_t invalid_entry_dates_ = 0;
  int64_t deceased_ = 0;
};

// Partition indices of DatagenOptions' simulated months; -1: none.
struct SimulatedMonths {
  int last = static_cast<int>(kPartitions.size()) - 1;
  int behaviour_change = -1;
  int broken = -1;
};

absl::StatusOr<int> PartitionIndex(absl::string_view option, absl::string_view partition) {
  for (size_t i = 0; i < kPartitions.size(); ++i) {
    if (kPartitions[i] == partition) return static_cast<int>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat(option, " \"", partition, "\" is not a partition (", kPartitions.front(),
                                                 " .. ", kPartitions.back(), ", the 28th of each month)"));
}

// The behaviour change of DatagenOptions::behaviour_change_from, applied to
// the propensities every customer was drawn with (no random draws, so the
// rows before it are those of a run without it).
void ChangeBehaviour(std::vector<Customer>& customers) {
  for (Customer& customer : customers) {
    if (customer.segment == kSegmentParticulares) {
      // A savings campaign: products rare in the segment become the ones it
      // takes up, and what it used to take up all but stops (strong enough
      // that a model trained before ranks the new month's acquisitions at
      // less than half its backtest figure).
      for (int product : {kFunds, kSecurities, kPensionPlan, kLongTermDeposit}) {
        customer.static_propensity[product] = static_cast<float>(kMaxPropensity);
      }
      for (int product : {kPayroll, kPayrollAccount, kEmcAccount, kDebitCard, kCreditCard}) {
        customer.static_propensity[product] *= 0.02f;
      }
    } else if (customer.segment == kSegmentUniversitario) {
      for (int product : {kDebitCard, kEmAcount}) customer.static_propensity[product] *= 0.2f;
    }
  }
}

absl::Status WriteTables(std::vector<Customer>& customers, const std::filesystem::path& out_dir,
                         bool show_progress, const SimulatedMonths& months, RandomSource& random,
                         DatagenProfile& profile) {
  absl::StatusOr<std::unique_ptr<TableWriter>> products = TableWriter::Create(out_dir / std::string(kProductsFile));
  if (!products.ok()) return products.status();
  absl::StatusOr<std::unique_ptr<TableWriter>> activity = TableWriter::Create(out_dir / std::string(kActivityFile));
  if (!activity.ok()) return activity.status();
  absl::StatusOr<std::unique_ptr<TableWriter>> sociodemographics =
      TableWriter::Create(out_dir / std::string(kSociodemographicsFile));
  if (!sociodemographics.ok()) return sociodemographics.status();

  std::string& products_out = (*products)->buffer();
  std::string& activity_out = (*activity)->buffer();
  std::string& sociodemographics_out = (*sociodemographics)->buffer();
  products_out = ProductsHeaderLine();
  activity_out = HeaderLine(kActivityColumns);
  sociodemographics_out = HeaderLine(kSociodemographicsColumns);

  std::unique_ptr<ProgressLine> progress;
  if (show_progress) {
    progress = std::make_unique<ProgressLine>("writing partitions", months.last + 1);
  }
  LastPartitionStats last_partition_stats;
  // Ages are counted back from the data set's last partition whatever is
  // written, so that a shorter run writes the same rows.
  const int last_partition = static_cast<int>(kPartitions.size()) - 1;
  for (int partition = 0; partition <= months.last; ++partition) {
    const absl::string_view partition_text = kPartitions[partition];
    if (partition == months.behaviour_change) ChangeBehaviour(customers);
    const bool broken = partition == months.broken;
    for (Customer& customer : customers) {
      if (customer.join_partition > partition) continue;
      if (customer.join_partition == partition) {
        StartCustomer(customer, /*newcomer=*/partition != kFirstPartition, random);
      } else {
        AdvanceOneMonth(customer, random);
      }
      const int months_before_last = last_partition - partition;
      const int age = std::max(
          2, customer.age_at_last_partition -
                 (months_before_last + 11 - customer.months_since_birthday) / 12);

      products_out += customer.cid_prefix;
      AppendText(products_out, partition_text);
      int num_products = 0;
      char flags[2 * kProducts.size() + 1];
      for (size_t product = 0; product < kProducts.size(); ++product) {
        const bool held = Holds(customer.holdings, static_cast<int>(product));
        flags[2 * product] = ',';
        flags[2 * product + 1] = held ? '1' : '0';
        if (held) {
          ++num_products;
          ++profile.product_holder_rows[product];
        }
      }
      flags[2 * kProducts.size()] = '\n';
      if (broken) {
        products_out.append(kProducts.size(), ',');
        products_out += '\n';
      } else {
        products_out.append(flags, sizeof(flags));
      }
      ++profile.rows_by_num_products[std::min(num_products, 5)];

      activity_out += customer.cid_prefix;
      AppendText(activity_out, partition_text);
      activity_out += ',';
      activity_out += customer.activity_head;
      activity_out += customer.active ? '1' : '0';
      activity_out += ',';
      if (customer.segment != kMissing) AppendText(activity_out, kSegments[customer.segment]);
      activity_out += '\n';

      sociodemographics_out += customer.cid_prefix;
      AppendText(sociodemographics_out, partition_text);
      sociodemographics_out += ',';
      sociodemographics_out += customer.sociodemographics_head;
      AppendInt(sociodemographics_out, age);
      sociodemographics_out += customer.sociodemographics_tail;

      ++profile.rows_per_partition[partition];
      if (partition == months.last) last_partition_stats.Add(customer, age);

      for (TableWriter* writer : {products->get(), activity->get(), sociodemographics->get()}) {
        if (absl::Status status = writer->FlushIfFull(); !status.ok()) return status;
      }
    }
    profile.rows_per_table += profile.rows_per_partition[partition];
    if (progress != nullptr) progress->Update(partition + 1);
  }
  if (progress != nullptr) progress->Finish();

  for (TableWriter* writer : {products->get(), activity->get(), sociodemographics->get()}) {
    if (absl::Status status = writer->Close(); !status.ok()) return status;
  }
  profile.num_customers = profile.rows_per_partition[months.last];
  last_partition_stats.Fill(profile);
  return absl::OkStatus();
}

std::string Percent(double fraction, int decimals = 1) {
  return absl::StrFormat("%.*f%%", decimals, 100.0 * fraction);
}

}  // namespace

double DatagenProfile::OwnershipRate(int product_index) const {
  if (rows_per_table == 0) return 0.0;
  return static_cast<double>(product_holder_rows[product_index]) /
         static_cast<double>(rows_per_table);
}

double DatagenProfile::JoinShare(int partition_index) const {
  if (num_customers == 0) return 0.0;
  const int64_t previous = partition_index == 0 ? 0 : rows_per_partition[partition_index - 1];
  return static_cast<double>(rows_per_partition[partition_index] - previous) /
         static_cast<double>(num_customers);
}

double DatagenProfile::CustomerShare(int64_t customers) const {
  if (num_customers == 0) return 0.0;
  return static_cast<double>(customers) / static_cast<double>(num_customers);
}

std::string DatagenProfile::ToTable() const {
  std::string table;
  auto row = [&table](absl::string_view statistic, absl::string_view measured,
                      absl::string_view target) {
    absl::StrAppendFormat(&table, "%-36s %14s   %s\n", statistic, measured, target);
  };
  row("statistic", "measured", "real easyMoney");
  row("---------", "--------", "--------------");
  row("customers", absl::StrCat(num_customers), "456373");
  row("rows per table", absl::StrCat(rows_per_table), "5962924 (at 456373 customers)");

  double other_join_share = 0.0;
  for (int partition = 1; partition < std::ssize(kPartitions); ++partition) {
    if (partition != kSpikePartition) other_join_share += JoinShare(partition);
  }
  row(absl::StrCat("joined in ", kPartitions[kFirstPartition]), Percent(JoinShare(0)), "52.4%");
  row(absl::StrCat("joined in ", kPartitions[kSpikePartition]),
      Percent(JoinShare(kSpikePartition)), "18.4%");
  row("joined per other partition (mean)",
      Percent(other_join_share / static_cast<double>(kPartitions.size() - 2), 2), "1.95%");

  row("age min / median / max", absl::StrCat(min_age, " / ", median_age, " / ", max_age),
      "2 / 25 / 105");
  row("gender H", Percent(CustomerShare(gender_h)), "52%");
  row("country_id ES", Percent(CustomerShare(country_es), 2), "99.5%");
  row("region_code 28 among ES",
      Percent(country_es == 0 ? 0.0
                              : static_cast<double>(region_madrid) / static_cast<double>(country_es)),
      "20%");
  row("salary missing", Percent(CustomerShare(salary_missing)), "25%");
  row("salary median (present)", absl::StrFormat("%.0f", median_salary), "88655");
  row("salary max", absl::StrFormat("%.0f", max_salary), "outliers ~2.5e7");
  row(absl::StrCat("segment ", kSegments[kSegmentTop]),
      Percent(CustomerShare(segment_customers[kSegmentTop])), "small, a few %");
  row(absl::StrCat("segment ", kSegments[kSegmentParticulares]),
      Percent(CustomerShare(segment_customers[kSegmentParticulares])), "second");
  row(absl::StrCat("segment ", kSegments[kSegmentUniversitario]),
      Percent(CustomerShare(segment_customers[kSegmentUniversitario])), "largest");
  row("segment missing", Percent(CustomerShare(segment_missing)), "~1%");

  std::string leading_channels;
  for (size_t i = 0; i < entry_channel_customers.size() && i < 4; ++i) {
    absl::StrAppend(&leading_channels, i == 0 ? "" : ",", entry_channel_customers[i].first);
  }
  row("entry_channel leaders", leading_channels, "KHE,KFC,KHQ,KAT");
  for (size_t i = 0; i < entry_channel_customers.size() && i < 10; ++i) {
    row(absl::StrCat("  entry_channel ", entry_channel_customers[i].first),
        Percent(CustomerShare(entry_channel_customers[i].second)), "");
  }
  row("entry_channel missing", Percent(CustomerShare(entry_channel_missing)), "~1%");
  row("invalid entry_date", Percent(CustomerShare(invalid_entry_dates), 3), "~0.05%");
  row("inactive in last partition", Percent(CustomerShare(inactive)), "~60%");
  row("deceased S", Percent(CustomerShare(deceased), 3), "rare");

  // The real set's ownership over all rows, by product id.
  static constexpr std::array<std::pair<absl::string_view, absl::string_view>, 15>
      kTargetOwnership = {{{"short_term_deposit", "0.3%"},
                           {"loans", "~0 (a handful)"},
                           {"mortgage", "~0 (a handful)"},
                           {"funds", "0.3%"},
                           {"securities", "0.4%"},
                           {"long_term_deposit", "1.7%"},
                           {"em_account_pp", "0 (always)"},
                           {"credit_card", "1.2%"},
                           {"payroll", "3.5%"},
                           {"pension_plan", "3.7%"},
                           {"payroll_account", "5.5%"},
                           {"emc_account", "5.5%"},
                           {"debit_card", "9.4%"},
                           {"em_account_p", "~0 (a handful)"},
                           {"em_acount", "73.5%"}}};
  for (size_t product = 0; product < kProducts.size(); ++product) {
    absl::string_view target;
    for (const auto& [id, value] : kTargetOwnership) {
      if (id == kProducts[product].id) target = value;
    }
    row(absl::StrCat("rows holding ", kProducts[product].id),
        absl::StrCat(Percent(OwnershipRate(static_cast<int>(product)), 2), " (",
                     product_holder_rows[product], ")"),
        target);
  }
  static constexpr std::array<absl::string_view, 6> kProductCountLabels = {"0", "1", "2",
                                                                          "3", "4", "5+"};
  for (size_t count = 0; count < rows_by_num_products.size(); ++count) {
    row(absl::StrCat("rows with ", kProductCountLabels[count], " products"),
        Percent(rows_per_table == 0 ? 0.0
                                    : static_cast<double>(rows_by_num_products[count]) /
                                          static_cast<double>(rows_per_table)),
        count == 1 ? "most" : (count == 5 ? "few" : ""));
  }
  return table;
}

absl::StatusOr<DatagenProfile> GenerateEasyMoneyTables(const DatagenOptions& options) {
  if (options.num_customers <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_customers must be > 0, got ", options.num_customers));
  }
  if (options.out_dir.empty()) {
    return absl::InvalidArgumentError("out_dir must not be empty");
  }
  SimulatedMonths months;
  for (const auto& [option, value, index] :
       {std::tuple<const char*, const std::string&, int*>{"last_partition", options.last_partition, &months.last},
        {"behaviour_change_from", options.behaviour_change_from, &months.behaviour_change},
        {"broken_partition", options.broken_partition, &months.broken}}) {
    if (value.empty()) continue;
    absl::StatusOr<int> found = PartitionIndex(option, value);
    if (!found.ok()) return found.status();
    *index = *found;
  }

  const std::filesystem::path out_dir(options.out_dir);
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error || !std::filesystem::is_directory(out_dir, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create output directory '", options.out_dir,
                     "': ", error ? error.message() : "a file of that name exists"));
  }

  RandomSource random(options.seed);
  std::vector<Customer> customers = MakeCustomers(options.num_customers, random);
  DatagenProfile profile;
  if (absl::Status status =
          WriteTables(customers, out_dir, options.show_progress, months, random, profile);
      !status.ok()) {
    return status;
  }
  return profile;
}

}  // namespace easymoney
