"""Write the small real-looking tables the CLI tests run on (deterministic).

``python tests/data/make_tables.py`` rewrites them; the CSVs are committed.
They imitate public tables a new user would try (no download here):

- ``penguins.csv``: species from bill, flipper and mass; island and sex
  categorical; a few missing cells (as in palmerpenguins);
- ``cars.csv``: fuel consumption (mpg around 23) from engine and weight;
  origin categorical, horsepower sometimes missing, a free-text car name;
- ``survey.csv``: satisfaction from age, income and integer-coded answers
  (1-5), region categorical, a unique respondent id and a free-text comment;
- ``panel.csv``: ``;``-separated with decimal commas, a monthly date column,
  country categorical, consumption (in the thousands) from GDP, inflation, ...
"""

import pathlib

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).parent


def penguins(rng, n=240):
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], size=n, p=[0.44, 0.2, 0.36])
    island = np.where(
        species == "Gentoo",
        "Biscoe",
        np.where(
            species == "Chinstrap",
            "Dream",
            rng.choice(["Biscoe", "Dream", "Torgersen"], size=n),
        ),
    )
    base = {
        "Adelie": (38.8, 18.3, 190, 3700),
        "Chinstrap": (48.8, 18.4, 196, 3730),
        "Gentoo": (47.5, 15.0, 217, 5080),
    }
    mean = np.array([base[s] for s in species], dtype=float)
    sex = rng.choice(["male", "female"], size=n)
    male = (sex == "male")[:, None] * np.array([2.0, 1.0, 5.0, 500.0])
    noise = rng.normal(size=(n, 4)) * np.array([2.5, 1.0, 6.0, 400.0])
    values = mean + male + noise
    frame = pd.DataFrame(
        {
            "species": species,
            "island": island,
            "bill_length_mm": values[:, 0].round(1),
            "bill_depth_mm": values[:, 1].round(1),
            "flipper_length_mm": values[:, 2].round(0),
            "body_mass_g": (values[:, 3] / 25).round() * 25,
            "sex": sex,
            "year": rng.choice([2007, 2008, 2009], size=n),
        }
    )
    for column, rows in (("bill_length_mm", 8), ("body_mass_g", 5), ("sex", 8)):
        frame.loc[rng.choice(n, size=rows, replace=False), column] = np.nan
    return frame


def cars(rng, n=260):
    origin = rng.choice(["usa", "europe", "japan"], size=n, p=[0.6, 0.2, 0.2])
    cylinders = np.where(
        origin == "usa", rng.choice([4, 6, 8], size=n), rng.choice([4, 4, 6], size=n)
    )
    displacement = cylinders * rng.normal(45, 6, size=n)
    horsepower = 20 + displacement * 0.45 + rng.normal(0, 10, size=n)
    weight = 1500 + displacement * 7 + rng.normal(0, 250, size=n)
    acceleration = 22 - horsepower / 25 + rng.normal(0, 1.5, size=n)
    year = rng.integers(70, 83, size=n)
    mpg = (
        46
        - 0.0055 * weight
        - 0.03 * horsepower
        + 0.5 * (year - 76)
        + 1.5 * (origin == "japan")
        + rng.normal(0, 2.0, size=n)
    )
    makes = np.array(
        [
            "ford",
            "chevrolet",
            "toyota",
            "datsun",
            "vw",
            "peugeot",
            "honda",
            "buick",
            "fiat",
            "audi",
        ]
    )
    models = np.array(
        [
            "pinto",
            "corolla",
            "rabbit",
            "civic",
            "504",
            "skylark",
            "128",
            "100ls",
            "maverick",
            "impala",
            "510",
            "accord",
        ]
    )
    name = [
        f"{makes[i]} {models[j]} {k}"
        for i, j, k in zip(
            rng.integers(0, 10, n), rng.integers(0, 12, n), rng.integers(1, 400, n)
        )
    ]
    frame = pd.DataFrame(
        {
            "mpg": mpg.round(1),
            "cylinders": cylinders,
            "displacement": displacement.round(0),
            "horsepower": horsepower.round(0),
            "weight": weight.round(0),
            "acceleration": acceleration.round(1),
            "model_year": year,
            "origin": origin,
            "name": name,
        }
    )
    frame.loc[rng.choice(n, size=6, replace=False), "horsepower"] = np.nan
    return frame


def survey(rng, n=240):
    age = rng.integers(18, 80, size=n)
    income = np.exp(rng.normal(10.4, 0.5, size=n)).round(-2)
    answers = rng.integers(1, 6, size=(n, 4))
    region = rng.choice(["north", "south", "east", "west"], size=n)
    score = (
        answers[:, 0]
        + answers[:, 1]
        - 0.5 * answers[:, 3]
        + 0.01 * (age - 50)
        + (region == "south")
        + rng.normal(0, 1.0, size=n)
    )
    satisfied = np.where(score > np.median(score), "yes", "no")
    words = np.array(
        [
            "good",
            "slow",
            "friendly",
            "expensive",
            "service",
            "late",
            "great",
            "never",
            "again",
            "staff",
            "clean",
            "price",
        ]
    )
    comment = [" ".join(rng.choice(words, size=rng.integers(3, 9))) for _ in range(n)]
    return pd.DataFrame(
        {
            "respondent_id": [f"R{i:04d}" for i in rng.permutation(n) + 1],
            "age": age,
            "income": income,
            **{f"q{k + 1}": answers[:, k] for k in range(4)},
            "region": region,
            "comment": comment,
            "satisfied": satisfied,
        }
    )


def panel(rng, n_months=60):
    countries = ["AT", "BE", "DE", "FR"]
    rows = []
    for c, country in enumerate(countries):
        level = 6000 + 800 * c
        for t in range(n_months):
            gdp = level * (1 + 0.002 * t) + rng.normal(0, 120)
            inflation = 2 + rng.normal(0, 0.8)
            unemployment = 7 + c - 0.02 * t + rng.normal(0, 0.5)
            exports = 0.4 * gdp + rng.normal(0, 150)
            consumption = (
                0.55 * gdp
                + 150 * inflation
                - 90 * unemployment
                + 0.3 * exports
                + rng.normal(0, 120)
            )
            rows.append(
                {
                    "date": f"{2015 + t // 12}-{t % 12 + 1:02d}-01",
                    "country": country,
                    "gdp": round(gdp, 1),
                    "inflation": round(inflation, 2),
                    "unemployment": round(unemployment, 2),
                    "exports": round(exports, 1),
                    "consumption": round(consumption, 1),
                }
            )
    return pd.DataFrame(rows)


def main():
    rng = np.random.default_rng(20261204)
    penguins(rng).to_csv(HERE / "penguins.csv", index=False)
    cars(rng).to_csv(HERE / "cars.csv", index=False)
    survey(rng).to_csv(HERE / "survey.csv", index=False)
    panel(rng).to_csv(HERE / "panel.csv", index=False, sep=";", decimal=",")


if __name__ == "__main__":
    main()
