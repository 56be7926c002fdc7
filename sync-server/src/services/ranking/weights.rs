//! The weights of the ranking's score, a deployment's choice
//! (`serve --ranking-weights on_time=50,closure=20,rework=0.2`).

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// `score = on_time × on_time_rate + closure × closure_rate − rework × reworked`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weights {
    /// Points for an on-time rate of 1 (按期结案率).
    pub on_time: f64,
    /// Points for a closure rate of 1 (结案率).
    pub closure: f64,
    /// Points taken off per reworked case (返工).
    pub rework: f64,
}

/// As cities' 数字城管 evaluations weigh them: 50 points for the on-time
/// rate, 20 for the closure rate, 0.2 off per rework.
impl Default for Weights {
    fn default() -> Self {
        Weights { on_time: 50.0, closure: 20.0, rework: 0.2 }
    }
}

impl std::str::FromStr for Weights {
    type Err = Error;

    /// Strictly `on_time=A,closure=B,rework=C`: each of the three once, in
    /// any order, each a finite number from 0 to 1000 (a weight below 0
    /// would turn a reward into a penalty, which the names do not say).
    fn from_str(text: &str) -> Result<Weights> {
        let bad = |why: String| Error::BadRequest(format!("ranking weights `{text}`: {why} (expected on_time=50,closure=20,rework=0.2)"));
        let (mut on_time, mut closure, mut rework) = (None, None, None);
        for pair in text.split(',') {
            let (name, value) = pair.split_once('=').ok_or_else(|| bad(format!("`{pair}` is not NAME=NUMBER")))?;
            let number: f64 = value.trim().parse().map_err(|_| bad(format!("`{value}` is not a number")))?;
            if !(0.0..=1000.0).contains(&number) {
                return Err(bad(format!("{name} must be from 0 to 1000")));
            }
            let slot = match name.trim() {
                "on_time" => &mut on_time,
                "closure" => &mut closure,
                "rework" => &mut rework,
                other => return Err(bad(format!("`{other}` is not one of on_time, closure, rework"))),
            };
            if slot.replace(number).is_some() {
                return Err(bad(format!("{name} is given twice")));
            }
        }
        match (on_time, closure, rework) {
            (Some(on_time), Some(closure), Some(rework)) => Ok(Weights { on_time, closure, rework }),
            _ => Err(bad("each of on_time, closure and rework is needed".into())),
        }
    }
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "on_time={},closure={},rework={}", self.on_time, self.closure, self.rework)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly() {
        let w: Weights = "rework=0.5, on_time=40,closure=30".parse().unwrap();
        assert_eq!(w, Weights { on_time: 40.0, closure: 30.0, rework: 0.5 });
        assert_eq!(Weights::default().to_string().parse::<Weights>().unwrap(), Weights::default());
        for bad in [
            "",
            "on_time=50,closure=20",
            "on_time=50,closure=20,rework=0.2,on_time=1",
            "on_time=50,closure=20,rework=-1",
            "on_time=NaN,closure=20,rework=1",
            "on_time=inf,closure=20,rework=1",
            "on_time=50;closure=20;rework=1",
            "on_time=50,closure=20,rework=1,speed=3",
            "on_time=fifty,closure=20,rework=1",
        ] {
            assert!(matches!(bad.parse::<Weights>(), Err(Error::BadRequest(_))), "{bad:?}");
        }
    }
}
