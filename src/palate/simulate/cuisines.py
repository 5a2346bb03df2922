"""The cuisine book: market shares, price points, opening patterns, dayparts and menu templates.

Menu templates are ``Name:flags|Name|...`` where flags are ``v`` (vegetarian), ``vg`` (vegan,
implies vegetarian), ``s`` (spicy) and ``a`` (alcohol); comma-separated when several apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Local hour → daypart: night, breakfast, lunch, afternoon, dinner, late evening.
DAYPARTS = ("night", "breakfast", "lunch", "afternoon", "dinner", "late")
HOUR_DAYPART = np.array([0] * 6 + [1] * 5 + [2] * 4 + [3] * 2 + [4] * 5 + [5] * 2, dtype=np.int8)

RESTAURANT_CATEGORIES = ("mains", "sides", "drinks", "desserts")
GROCERY_CATEGORIES = ("produce", "dairy", "bakery", "snacks", "pantry", "frozen", "alcohol")
ITEM_CATEGORIES = RESTAURANT_CATEGORIES + GROCERY_CATEGORIES

FLAG_VEGETARIAN, FLAG_VEGAN, FLAG_SPICY, FLAG_ALCOHOL = 1, 2, 4, 8
FLAG_CODES = {"v": 1, "vg": FLAG_VEGAN | FLAG_VEGETARIAN, "s": FLAG_SPICY, "a": FLAG_ALCOHOL}
FLAG_TAGS = ((1, "vegetarian"), (FLAG_VEGAN, "vegan"), (FLAG_SPICY, "spicy"), (8, "alcohol"))

DRINKS = "Cola|Cola Zero|Sparkling Water|Orange Juice|Lemonade|Iced Tea|Lager:a"
ASIAN_DRINKS = "Green Tea|Jasmine Tea|Coconut Water|Cola|Sparkling Water|Asian Lager:a"
CAFE_DRINKS = "Cappuccino|Latte|Oat Latte|Filter Coffee|Fresh Orange Juice|Smoothie|Tea"


@dataclass(frozen=True, slots=True)
class Cuisine:
    """One cuisine: how common it is, what it costs, when it sells, what it serves.

    ``daypart`` multiplies demand in each of :data:`DAYPARTS`; ``extras`` are the chances
    that a basket gets a side, a drink and a dessert (pizza pulls drinks and desserts).
    """

    slug: str
    name: str
    share: float
    price: float
    price_levels: tuple[float, float, float, float]
    hours: str
    daypart: tuple[float, float, float, float, float, float]
    veg_friendly: float
    prep_min: float
    extras: tuple[float, float, float]
    mains: str
    sides: str
    desserts: str
    drinks: str = DRINKS

    @property
    def is_grocery(self) -> bool:
        """Grocers sell from shelves rather than a menu."""
        return self.hours == "grocery"


# fmt: off
CUISINES: tuple[Cuisine, ...] = (
    Cuisine("pizza", "Pizza", 0.13, 12.5, (0.3, 0.5, 0.17, 0.03), "late",
       (0.3, 0.05, 0.8, 0.5, 1.3, 1.2), 0.9, 14, (0.35, 0.6, 0.3),
       "Margherita:v|Pepperoni|Quattro Formaggi:v|Diavola:s|Vegana:vg|Kebab Pizza|Hawaii|"
       "Funghi:v|Capricciosa|Frutti di Mare|Pollo Pesto|Verdure:vg",
       "Garlic Bread:v|Side Salad:vg|Chicken Wings|Dip Trio:v", "Tiramisu:v|Chocolate Brownie:v"),
    Cuisine("burger", "Burgers", 0.11, 13.0, (0.25, 0.55, 0.18, 0.02), "late",
       (0.4, 0.05, 1.0, 0.6, 1.1, 1.2), 0.6, 12, (0.75, 0.55, 0.12),
       "Cheeseburger|Double Smash|Chicken Burger|Halloumi Burger:v|Plant Burger:vg|"
       "BBQ Bacon Burger|Jalapeño Burger:s|Fish Burger|Mushroom Swiss:v",
       "Fries:vg|Sweet Potato Fries:vg|Onion Rings:v|Coleslaw:v|Cheese Fries:v",
       "Milkshake:v|Apple Pie:v"),
    Cuisine("sushi", "Sushi", 0.09, 16.0, (0.1, 0.5, 0.3, 0.1), "standard",
       (0.0, 0.02, 1.3, 0.7, 1.0, 0.4), 0.7, 16, (0.4, 0.35, 0.08),
       "Salmon Set|Maki Mix|Nigiri Selection|Veggie Maki:vg|Spicy Tuna Roll:s|"
       "Chirashi Bowl|Tempura Roll|Avocado Set:vg|Ebi Nigiri|Sashimi Deluxe",
       "Miso Soup:v|Edamame:vg|Seaweed Salad:vg|Gyoza", "Mochi:v", ASIAN_DRINKS),
    Cuisine("indian", "Indian", 0.06, 15.0, (0.1, 0.65, 0.22, 0.03), "lunch_dinner",
       (0.1, 0.02, 1.0, 0.6, 1.3, 0.6), 1.4, 18, (0.65, 0.4, 0.1),
       "Butter Chicken|Chicken Tikka Masala|Lamb Rogan Josh:s|Palak Paneer:v|Chana Masala:vg|"
       "Dal Tadka:vg|Vindaloo:s|Biryani|Vegetable Korma:v|Malai Kofta:v",
       "Garlic Naan:v|Plain Naan:v|Basmati Rice:vg|Samosa:v|Raita:v", "Gulab Jamun:v|Mango Kulfi:v",
       "Mango Lassi:v|Cola|Sparkling Water|Indian Lager:a"),
    Cuisine("nepalese", "Nepalese", 0.04, 14.0, (0.15, 0.7, 0.15, 0.0), "lunch_dinner",
       (0.1, 0.02, 1.2, 0.6, 1.2, 0.5), 1.3, 18, (0.6, 0.35, 0.05),
       "Chicken Momo|Veg Momo:v|Chicken Curry|Lamb Sekuwa:s|Dal Bhat:vg|Paneer Chilli:v,s|"
       "Thukpa|Aloo Tama:vg",
       "Garlic Naan:v|Rice:vg|Pakora:v", "Kheer:v", "Mango Lassi:v|Cola|Nepal Ice Lager:a"),
    Cuisine("chinese", "Chinese", 0.05, 13.5, (0.2, 0.6, 0.18, 0.02), "lunch_dinner",
       (0.2, 0.02, 1.1, 0.6, 1.2, 0.8), 0.8, 15, (0.5, 0.35, 0.05),
       "Kung Pao Chicken:s|Sweet and Sour Pork|Mapo Tofu:vg,s|Beef Chow Mein|Egg Fried Rice:v|"
       "Szechuan Beef:s|Vegetable Stir Fry:vg|Peking Duck",
       "Spring Rolls:v|Dumplings|Prawn Crackers", "Sesame Balls:v", ASIAN_DRINKS),
    Cuisine("thai", "Thai", 0.05, 14.0, (0.15, 0.65, 0.18, 0.02), "lunch_dinner",
       (0.1, 0.02, 1.2, 0.6, 1.1, 0.5), 1.0, 15, (0.4, 0.4, 0.05),
       "Pad Thai|Green Curry:s|Red Curry:s|Massaman Curry|Tofu Pad Thai:vg|Tom Yum:s|"
       "Pad Kra Pao:s|Vegetable Red Curry:vg,s",
       "Spring Rolls:v|Jasmine Rice:vg|Chicken Satay", "Mango Sticky Rice:vg", ASIAN_DRINKS),
    Cuisine("kebab", "Kebab", 0.07, 10.5, (0.55, 0.4, 0.05, 0.0), "late",
       (0.8, 0.02, 0.9, 0.5, 0.9, 1.6), 0.6, 10, (0.5, 0.5, 0.03),
       "Kebab Plate|Kebab Wrap|Falafel Wrap:vg|Chicken Kebab|Iskender|Halloumi Wrap:v|"
       "Kebab Fries|Spicy Durum:s",
       "Fries:vg|Hummus:vg|Garlic Sauce:v", "Baklava:v"),
    Cuisine("vietnamese", "Vietnamese", 0.04, 13.5, (0.2, 0.65, 0.15, 0.0), "standard",
       (0.0, 0.05, 1.4, 0.7, 1.0, 0.3), 1.0, 13, (0.4, 0.45, 0.03),
       "Pho Bo|Pho Ga|Bun Cha|Banh Mi|Tofu Banh Mi:vg|Bun Chay:vg|Lemongrass Chicken|Com Tam",
       "Summer Rolls:v|Fried Spring Rolls", "Che Ba Mau:v",
       "Vietnamese Iced Coffee:v|Jasmine Tea|Coconut Water|Cola"),
    Cuisine("mexican", "Mexican", 0.04, 14.0, (0.15, 0.6, 0.22, 0.03), "lunch_dinner",
       (0.1, 0.02, 1.0, 0.6, 1.2, 0.7), 1.0, 14, (0.55, 0.5, 0.08),
       "Beef Burrito|Chicken Burrito|Bean Burrito:vg|Tacos al Pastor|Fish Tacos|"
       "Veggie Quesadilla:v|Chili con Carne:s|Nachos Supreme",
       "Tortilla Chips:vg|Guacamole:vg|Elote:v", "Churros:v", DRINKS + "|Margarita:a"),
    Cuisine("italian", "Italian", 0.05, 17.0, (0.05, 0.45, 0.38, 0.12), "standard",
       (0.0, 0.02, 0.9, 0.5, 1.3, 0.5), 0.9, 18, (0.4, 0.45, 0.3),
       "Spaghetti Carbonara|Lasagne|Penne Arrabbiata:vg,s|Risotto ai Funghi:v|Gnocchi Pomodoro:v|"
       "Tagliatelle Ragù|Ravioli Spinaci:v|Saltimbocca",
       "Bruschetta:vg|Caprese:v|Focaccia:vg", "Tiramisu:v|Panna Cotta:v",
       DRINKS + "|Chianti:a|Prosecco:a"),
    Cuisine("healthy", "Salads & Bowls", 0.07, 13.5, (0.1, 0.6, 0.27, 0.03), "standard",
       (0.0, 0.2, 1.6, 0.7, 0.7, 0.2), 1.8, 10, (0.25, 0.45, 0.05),
       "Caesar Salad|Falafel Bowl:vg|Salmon Poke|Tofu Poke:vg|Quinoa Bowl:vg|Chicken Bowl|"
       "Greek Salad:v|Halloumi Bowl:v|Buddha Bowl:vg",
       "Soup of the Day:vg|Sourdough:vg|Hummus Cup:vg", "Chia Pudding:vg|Energy Ball:vg",
       "Green Smoothie:vg|Kombucha|Sparkling Water|Fresh Juice"),
    Cuisine("breakfast", "Breakfast & Café", 0.05, 11.0, (0.2, 0.6, 0.2, 0.0), "breakfast",
       (0.0, 2.4, 1.0, 0.5, 0.1, 0.0), 1.2, 8, (0.4, 0.8, 0.2),
       "Avocado Toast:vg|Eggs Benedict:v|Pancake Stack:v|Full Breakfast|Porridge Bowl:vg|"
       "Breakfast Bagel|Omelette:v|Granola Bowl:v",
       "Croissant:v|Fruit Cup:vg|Bacon Side", "Cinnamon Bun:v|Blueberry Muffin:v", CAFE_DRINKS),
    Cuisine("bakery", "Bakery", 0.03, 7.5, (0.35, 0.55, 0.1, 0.0), "breakfast",
       (0.0, 2.0, 1.0, 1.0, 0.3, 0.0), 1.1, 6, (0.3, 0.6, 0.5),
       "Sourdough Loaf:vg|Ham Sandwich|Cheese Sandwich:v|Quiche:v|Karelian Pies:v|"
       "Vegan Focaccia:vg",
       "Butter Croissant:v|Pain au Chocolat:v", "Cinnamon Bun:v|Cardamom Bun:v|Cheesecake:v",
       CAFE_DRINKS),
    Cuisine("dessert", "Desserts", 0.03, 8.0, (0.25, 0.6, 0.15, 0.0), "evening",
       (0.2, 0.0, 0.4, 1.4, 1.0, 1.4), 1.1, 8, (0.2, 0.3, 0.0),
       "Ice Cream Tub:v|Waffle:v|Cheesecake:v|Chocolate Cake:v|Vegan Sorbet:vg|Crêpe:v|"
       "Cookie Box:v",
       "Whipped Cream:v|Extra Topping:v", "Macarons:v", CAFE_DRINKS),
    Cuisine("korean", "Korean", 0.03, 15.0, (0.1, 0.6, 0.28, 0.02), "lunch_dinner",
       (0.1, 0.02, 1.1, 0.6, 1.2, 0.7), 0.8, 15, (0.5, 0.4, 0.03),
       "Korean Fried Chicken:s|Bibimbap|Tofu Bibimbap:vg|Bulgogi|Kimchi Fried Rice:s|"
       "Japchae:v|Tteokbokki:v,s",
       "Kimchi:vg|Mandu|Pickled Radish:vg", "Bingsu:v", ASIAN_DRINKS + "|Soju:a"),
    Cuisine("grocery", "Grocery", 0.07, 4.0, (0.4, 0.5, 0.1, 0.0), "grocery",
       (0.3, 0.9, 0.8, 1.0, 1.2, 0.9), 1.0, 6, (0.0, 0.0, 0.0), "", "", ""),
)
# fmt: on

CUISINE_INDEX = {c.slug: i for i, c in enumerate(CUISINES)}

# Grocery shelves: category → template, and the category's typical price.
# fmt: off
GROCERY_SHELVES: dict[str, tuple[str, float]] = {
    "produce": ("Bananas:vg|Apples:vg|Tomatoes:vg|Cucumber:vg|Avocados:vg|Potatoes:vg|Onions:vg|"
                "Carrots:vg|Blueberries:vg|Lettuce:vg|Lemons:vg|Bell Peppers:vg", 2.2),
    "dairy": ("Milk:v|Oat Drink:vg|Butter:v|Yoghurt:v|Eggs:v|Cheddar:v|Edam:v|Cream:v|Skyr:v|"
              "Soy Yoghurt:vg|Quark:v", 2.3),
    "bakery": ("Rye Bread:vg|Toast Bread:vg|Baguette:vg|Crispbread:vg|Cinnamon Buns:v|"
               "Tortillas:vg", 2.6),
    "snacks": ("Crisps:vg|Chocolate Bar:v|Salted Nuts:vg|Gummy Candy|Popcorn:vg|Biscuits:v|"
               "Salmiakki:v|Rice Cakes:vg", 2.4),
    "pantry": ("Pasta:vg|Rice:vg|Oats:vg|Coffee Beans:vg|Tea Bags:vg|Olive Oil:vg|"
               "Tomato Sauce:vg|Canned Beans:vg|Flour:vg|Sugar:vg|Peanut Butter:vg", 3.0),
    "frozen": ("Frozen Pizza|Frozen Berries:vg|Ice Cream:v|Fish Fingers|Frozen Peas:vg|"
               "Veggie Balls:vg|Frozen Dumplings", 4.0),
    "drinks": ("Cola 1.5L|Sparkling Water 1.5L|Orange Juice 1L|Energy Drink|Iced Coffee|"
               "Still Water 1.5L", 2.0),
    "alcohol": ("Lager 6-pack:a|Cider 4-pack:a|Long Drink 6-pack:a|IPA:a|Alcohol-free Beer", 11.0),
}
# fmt: on

HOURS_KINDS = ("late", "standard", "lunch_dinner", "breakfast", "evening", "grocery")


def parse_template(template: str) -> list[tuple[str, int]]:
    """Names and flag masks from a ``Name:flags|...`` template.

    >>> parse_template("Margherita:v|Diavola:s|Vegana:vg")
    [('Margherita', 1), ('Diavola', 4), ('Vegana', 3)]
    """
    out: list[tuple[str, int]] = []
    for entry in filter(None, template.split("|")):
        name, _, flags = entry.partition(":")
        mask = 0
        for code in filter(None, flags.split(",")):
            mask |= FLAG_CODES[code]
        out.append((name, mask))
    return out


def tags_of(mask: int) -> tuple[str, ...]:
    """The item tags spelled by a flag mask.

    >>> tags_of(FLAG_VEGAN | FLAG_VEGETARIAN)
    ('vegetarian', 'vegan')
    """
    return tuple(tag for flag, tag in FLAG_TAGS if mask & flag)


def cuisine_shares() -> np.ndarray:
    """Venue shares per cuisine, normalised to one."""
    shares = np.array([c.share for c in CUISINES])
    return np.asarray(shares / shares.sum())


def daypart_log_table() -> np.ndarray:
    """``log`` demand multiplier per cuisine and local hour, shape (cuisines, 24)."""
    table = np.log(np.maximum(np.array([c.daypart for c in CUISINES]), 0.02))
    return np.asarray(table[:, HOUR_DAYPART], dtype=np.float64)
