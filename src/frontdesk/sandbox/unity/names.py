"""Word pools for the synthetic practices: people, places, streets, employers.

Every name here is generic. Phone numbers use the fictional 555-01xx range and e-mail
addresses the reserved ``example.*`` domains, so no generated contact can reach a real person.
"""

from __future__ import annotations

# fmt: off
FEMALE_FIRST_NAMES = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly",
    "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
    "Rebecca", "Laura", "Sharon", "Cynthia", "Kathleen", "Amy", "Angela", "Anna", "Brenda",
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Harper", "Grace",
    "Chloe", "Zoe", "Lily", "Nora", "Maya", "Priya", "Mei", "Fatima", "Lucia", "Aaliyah",
)
MALE_FIRST_NAMES = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven",
    "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald",
    "Edward", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
    "Liam", "Noah", "Oliver", "Elijah", "Lucas", "Mason", "Logan", "Ethan", "Aiden", "Caleb",
    "Mateo", "Omar", "Wei", "Arjun", "Diego", "Malik", "Hiroshi", "Samuel",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
    "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson",
    "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim",
    "Chen", "O'Brien", "McDonald", "Van Buren", "St. John", "Okafor", "Kowalski", "Haddad",
)
SUFFIXES = ("Jr", "Sr", "II", "III")
TOWNS = (
    "Loudoun", "Ashburn", "Leesburg", "Sterling", "Reston", "Herndon", "Purcellville",
    "Fairfax", "Vienna", "Chantilly", "Centreville", "Manassas", "Warrenton", "Winchester",
    "Front Royal", "Culpeper", "Fredericksburg", "Stafford", "Woodbridge", "Alexandria",
    "Arlington", "Falls Church", "McLean", "Tysons", "Burke", "Springfield", "Lorton",
    "Haymarket", "Gainesville", "Bristow", "Middleburg", "Round Hill", "Hamilton",
    "Lovettsville", "Brambleton", "Aldie", "Lansdowne", "Broadlands", "South Riding",
    "Dulles", "Great Falls", "Oakton", "Annandale", "Franconia", "Kingstowne", "Dale City",
    "Triangle", "Quantico", "Dumfries", "Occoquan", "Clifton", "Catharpin", "Nokesville",
    "Marshall", "The Plains", "Upperville", "Bluemont", "Berryville", "Stephens City",
    "Strasburg", "Woodstock", "Luray",
)
LOCATION_KINDS = ("Office", "Family Medicine", "Pediatrics", "Clinic", "Internal Medicine")
ENTERPRISE_NAMES = (
    "Valley Medical Group", "Family Health Partners", "Community Physicians",
    "Primary Care Associates", "Regional Health Alliance", "Pediatric & Family Care",
)
STREETS = (
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Park Pl", "Washington Blvd",
    "Church St", "Market St", "Loudoun St", "King St", "Catoctin Cir", "Harrison St",
    "Riverside Pkwy", "Belmont Ridge Rd", "Evergreen Mills Rd", "Sycamore Ct", "Willow Way",
)
EMPLOYERS = (
    "Loudoun County Public Schools", "Inova Health", "Self-Employed", "Retired",
    "Federal Government", "Dulles Tech Corp", "Valley Construction LLC", "Student",
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
PRACTITIONER_DEGREES = ("MD", "MD", "MD", "DO", "NP", "PA-C")
RACES = (
    "White", "Black or African American", "Asian", "American Indian or Alaska Native",
    "Native Hawaiian or Other Pacific Islander", "Other Race", "Declined",
)
ETHNICITIES = ("Not Hispanic or Latino", "Hispanic or Latino", "Declined")
LANGUAGES = ("English", "English", "English", "English", "Spanish", "Vietnamese", "Korean")
MARITAL_STATUSES = ("S", "M", "D", "W")
# fmt: on
