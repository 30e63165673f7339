#include "rfc3339.hpp"

namespace switchboard::host {

namespace {

// Days from 1970-01-01 to the given civil date (proleptic Gregorian), after Howard Hinnant's
// days_from_civil: exact for every year the API takes, unlike timegm, which rolls over.
std::int64_t days_from_civil(int year, int month, int day) {
    year -= month <= 2 ? 1 : 0;
    const int era = (year >= 0 ? year : year - 399) / 400;
    const int year_of_era = year - era * 400;
    const int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return static_cast<std::int64_t>(era) * 146097 + day_of_era - 719468;
}

int days_in_month(int year, int month) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

// Reads the cursor's way through the text, one field at a time; the first problem stops it.
class reader {
public:
    explicit reader(std::string_view text) : text_(text) {}

    // Exactly `width` digits, within [low, high], named `what` in a problem.
    int number(std::size_t width, int low, int high, const char* what) {
        if (!problem_.empty())
            return 0;
        int value = 0;
        for (std::size_t i = 0; i < width; ++i, ++at_) {
            if (at_ >= text_.size() || text_[at_] < '0' || text_[at_] > '9') {
                fail(std::string("expected ") + std::to_string(width) + " digits for the " + what);
                return 0;
            }
            value = value * 10 + (text_[at_] - '0');
        }
        if (value < low || value > high)
            fail(std::string("the ") + what + " " + std::to_string(value) + " is not " + std::to_string(low) + " to " +
                 std::to_string(high));
        return value;
    }

    void expect(std::string_view one_of, const char* what) {
        if (!problem_.empty())
            return;
        if (at_ >= text_.size() || one_of.find(text_[at_]) == std::string_view::npos)
            fail(std::string("expected ") + what);
        else
            ++at_;
    }

    // Fraction digits after a '.', as milliseconds (further digits are read and dropped).
    int fraction_ms() {
        if (!problem_.empty() || at_ >= text_.size() || text_[at_] != '.')
            return 0;
        ++at_;
        int ms = 0;
        std::size_t digits = 0;
        for (; at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9'; ++at_, ++digits)
            if (digits < 3)
                ms = ms * 10 + (text_[at_] - '0');
        if (digits == 0 || digits > 9)
            fail("expected 1 to 9 digits after the decimal point");
        for (std::size_t d = digits; d < 3; ++d)
            ms *= 10;
        return ms;
    }

    // The zone's offset east of UTC in minutes: "Z" is 0.
    int offset_minutes() {
        if (!problem_.empty())
            return 0;
        if (at_ < text_.size() && (text_[at_] == 'Z' || text_[at_] == 'z')) {
            ++at_;
            return 0;
        }
        if (at_ >= text_.size() || (text_[at_] != '+' && text_[at_] != '-')) {
            fail("expected a zone: Z or an offset such as +08:00");
            return 0;
        }
        const int sign = text_[at_++] == '-' ? -1 : 1;
        const int hours = number(2, 0, 23, "offset hour");
        expect(":", "':' in the offset");
        const int minutes = number(2, 0, 59, "offset minute");
        return sign * (hours * 60 + minutes);
    }

    bool at_end() {
        if (problem_.empty() && at_ != text_.size())
            fail("unexpected text after the zone");
        return problem_.empty();
    }
    void fail(std::string problem) {
        if (problem_.empty())
            problem_ = std::move(problem);
    }
    const std::string& problem() const { return problem_; }

private:
    std::string_view text_;
    std::size_t at_ = 0;
    std::string problem_;
};

} // namespace

rfc3339_time parse_rfc3339(std::string_view text) {
    reader in(text);
    const int year = in.number(4, 1, 9999, "year");
    in.expect("-", "'-' after the year");
    const int month = in.number(2, 1, 12, "month");
    in.expect("-", "'-' after the month");
    const int day = in.number(2, 1, 31, "day");
    if (in.problem().empty() && day > days_in_month(year, month))
        in.fail("day " + std::to_string(day) + " does not exist in " + std::to_string(year) + "-" +
                (month < 10 ? "0" : "") + std::to_string(month));
    in.expect("Tt", "'T' between the date and the time");
    const int hour = in.number(2, 0, 23, "hour");
    in.expect(":", "':' after the hour");
    const int minute = in.number(2, 0, 59, "minute");
    in.expect(":", "':' after the minutes");
    const int second = in.number(2, 0, 59, "second");
    const int ms = in.fraction_ms();
    const int offset = in.offset_minutes();
    if (!in.at_end())
        return {0, in.problem()};
    const std::int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                                 static_cast<std::int64_t>(offset) * 60;
    return {seconds * 1000 + ms, {}};
}

} // namespace switchboard::host
