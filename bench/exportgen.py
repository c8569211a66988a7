"""Generate deterministic, realistic synthetic LinkedIn data-export zips (no real person's data).

The layout, file names, CSV headers and quirks follow docs/linkedin-export-format.md (the
"2025" era is the current ``Basic_LinkedInDataExport_MM-DD-YYYY.zip``; the "2018" era is the
old ``Complete_LinkedInDataExport_MM-DD-YYYY.zip`` with UTF-16 TSV members; the "2012-outlook"
and "2012-vcard" eras are not zips but the connections file of the old "Export contacts" page:
``linkedin_connections_export_microsoft_outlook.csv``, 59 quoted columns in Windows-1252, or a
vCard file). ``quirks`` adds what real exports were seen to do (see ``QUIRKS``); without them
the output is what it always was for the same arguments.

Model. One synthetic member is simulated on a timeline anchored at the series start.
Connections, conversations and every other event stream are indexed in chronological
order and their rows are drawn in that order from a random stream seeded by (seed, stream
name), so a row that existed in month k reappears byte for byte in month k+1 unless it was
edited on purpose (a connection's job change, a connection that later deletes its account,
the member's own profile edits) or removed (a removed connection, an accepted invitation).
Messages are drawn per conversation from a generator reseeded with the conversation's
index, so the large scale is produced in bounded memory: rows are streamed into
``zipfile.ZipFile.open(name, "w")`` a few thousand at a time.

Sizes (calibrated with the constants below ``Plan``). Over a 12-month series "small" gives
zips of 0.82 to 1.14 MB, "medium" 7.7 to 10.7 MB (4,000 to 4,680 connections, 57,000 to
80,000 messages, like building-blocks §8) and "large" about 240 to 340 MB.

Determinism. Same arguments, same bytes: member timestamps come from the export date,
members are written in a fixed order, and nothing depends on the host (no ``hash()``, no
clock, no locale). Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import calendar
import csv
import functools
import io
import itertools
import os
import random
import shutil
import struct
import subprocess
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from hashlib import sha256
from operator import itemgetter
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

__all__ = [
    "ERAS",
    "PRODUCERS",
    "STYLES",
    "Style",
    "SCALES",
    "add_months",
    "export_name",
    "generate_export",
    "generate_series",
    "QUIRKS",
    "CONTACT_ERAS",
    "main",
    "member_names",
    "scale_factor",
]

SCALES: dict[str, float] = {"small": 1.0, "medium": 10.0, "large": 320.0}
"""Named scales as multipliers of "small" (about 1 MB of zip per export)."""
ERAS = ("2025", "2018", "2012-outlook", "2012-vcard")
CONTACT_ERAS = ("2012-outlook", "2012-vcard")  # one connections file, not a zip
QUIRKS = {
    "legacy-endorsements": "a second, legacy UTF-16 'Endorsement Received Info.csv' beside "
    "Endorsement_Received_Info.csv: the same endorsements (status 'Accepted') plus redacted ones",
    "urn-emails": "some connections' Email Address holds a member URN (urn:li:member:NNN)",
    "moved-urls": "some connections change their public profile URL in a later month",
    "no-messages": "no messages.csv (the member did not ask for messages)",
    "no-profile": "no Profile.csv",
    "hostile": "text that attacks whoever shows it (2025 era): terminal escape sequences in "
    "names, companies, titles, the headline and a member's name; javascript:, data: and "
    "//host profile URLs; formulas as emails",
}
PRODUCERS = ("python", "infozip-6", "infozip-9", "7z", "stored")


@dataclass(frozen=True, slots=True)
class Style:
    """How one kind of member edits, writes and churns; the default values change nothing.

    Every knob only draws extra random numbers when it differs from its default, so the
    default style produces the bytes the generator always produced."""

    about: str
    job_change_p: float = 0.25  # share of connections that change job later
    removed_p: float = 0.03  # share of connections removed later
    headline_p: float = 0.12  # monthly chance of a new headline
    rewrite_p: float = 0.0  # monthly chance of rewriting the summary and a position text
    conversations: float = 1.0  # multiplier of the number of conversations
    bursty: bool = False  # new conversations come in bursts: busy months, then quiet ones
    revive: float = 1.0  # multiplier of the chance an old thread is revived (moves on top)
    length: str = "mixed"  # message lengths: "mixed", "short" (chat) or "long" (letters)
    script_mix: float = 0.0  # share of sentences in CJK, Cyrillic, Arabic or emoji
    foreign_names: float = 0.0  # share of people named in CJK, Cyrillic or Arabic script
    recruiter: bool = False  # the member recruits: templated outbound InMails, many threads
    deleted_p: float = 0.0  # share of conversations the member deletes some months later
    archived_p: float = 0.0  # share of conversations the member archives some months later


STYLES: dict[str, Style] = {
    "default": Style("the member the bench series and the tests were tuned on"),
    "editor": Style(
        "edits a lot: new headline and rewritten summary/positions most months, connections "
        "change jobs and are removed as well as added, threads archived, deleted, revived",
        job_change_p=0.5, removed_p=0.15, headline_p=0.5, rewrite_p=0.5, revive=2.0,
        deleted_p=0.06, archived_p=0.35),
    "chatty": Style("short chat messages in many threads that are revived often",
                    length="short", conversations=1.8, revive=2.2),
    "longform": Style("few threads of long, multi-paragraph messages",
                      length="long", conversations=0.4),
    "polyglot": Style("writes in Chinese, Japanese, Korean, Russian and Arabic with many "
                      "emoji; a network named in those scripts",
                      script_mix=0.5, foreign_names=0.45),
    "recruiter": Style("a recruiter: bursty months of templated outbound InMails to "
                       "candidates, about twice the threads",
                       conversations=2.2, bursty=True, recruiter=True),
}
"""Named styles (``--style``): members unlike the one the storage was tuned on."""

DAY = 86400
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_LONG = tuple(calendar.month_name[1:])
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NEVER = 1 << 30  # a month index that is never reached
CHUNK_ROWS = 4096  # rows per encoded chunk handed to the zip writer

# --------------------------------------------------------------------------- headers (verbatim)

CONNECTIONS_PREAMBLE = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses are '
    "missing. You will only see email addresses for connections who have allowed their "
    "connections to see or download their email address using this setting "
    "https://www.linkedin.com/psettings/privacy/email. You can learn more here "
    'https://www.linkedin.com/help/linkedin/answer/261"\n'
    "\n"
)
H_MSG_AI = (
    "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,RECIPIENT PROFILE URLS,DATE,"
    "SUBJECT,CONTENT,FOLDER"
)
H25 = {
    "Connections.csv": "First Name,Last Name,URL,Email Address,Company,Position,Connected On",
    "messages.csv": H_MSG_AI + ",ATTACHMENTS",
    "Invitations.csv": "From,To,Sent At,Message,Direction,inviterProfileUrl,inviteeProfileUrl",
    "Profile.csv": "First Name,Last Name,Maiden Name,Address,Birth Date,Headline,Summary,Industry,"
    "Zip Code,Geo Location,Twitter Handles,Websites,Instant Messengers",
    "Profile Summary.csv": "Profile Summary",
    "Positions.csv": "Company Name,Title,Description,Location,Started On,Finished On",
    "Education.csv": "School Name,Start Date,End Date,Notes,Degree Name,Activities",
    "Skills.csv": "Name",
    "Languages.csv": "Name,Proficiency",
    "Certifications.csv": "Name,Url,Authority,Started On,Finished On,License Number",
    "Recommendations_Received.csv": "First Name,Last Name,Company,Job Title,Text,Creation Date,"
    "Status",
    "Recommendations_Given.csv": "First Name,Last Name,Company,Job Title,Text,Creation Date,Status",
    "Endorsement_Received_Info.csv": "Endorsement Date,Skill Name,Endorser First Name,"
    "Endorser Last Name,Endorser Public Url,Endorsement Status",
    "Endorsement_Given_Info.csv": "Endorsement Date,Skill Name,Endorsee First Name,"
    "Endorsee Last Name,Endorsee Public Url,Endorsement Status",
    "Email Addresses.csv": "Email Address,Confirmed,Primary,Updated On",
    "PhoneNumbers.csv": "Extension,Number,Type",
    "Whatsapp Phone Numbers.csv": "Number,Extension,Is_WhatsApp_Number",
    "Registration.csv": "Registered At,Registration Ip,Subscription Types",
    "Company Follows.csv": "Organization,Followed On",
    "Member_Follows.csv": "Date,Status,FullName",
    "Reactions.csv": "Date,Type,Link",
    "Shares.csv": "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility",
    "Comments.csv": "Date,Link,Message",
    "InstantReposts.csv": "Date,Link",
    "Rich_Media.csv": "Date/Time,Media Description,Media Link",
    "Learning.csv": "Content Title,Content Description,Content Type,"
    "Content Last Watched Date (if viewed),Content Completed At (if completed),Content Saved,"
    "Notes taken on videos (if taken),",
    "SearchQueries.csv": "Time,Search Query",
    "Logins.csv": "Login Date,IP Address,User Agent,Login Type",
    "Jobs/Saved Jobs.csv": "Saved Date,Job Url,Job Title,Company Name",
    "Jobs/Job Applications.csv": "Application Date,Contact Email,Contact Phone Number,"
    "Company Name,Job Title,Job Url,Resume Name,Question And Answers",
    "coach_messages.csv": H_MSG_AI,
    "guide_messages.csv": H_MSG_AI,
    "learning_coach_messages.csv": H_MSG_AI,
    "learning_role_play_messages.csv": H_MSG_AI,
    "LearningCoachMessages.csv": "No conversations found",
}
H18 = {
    "Connections.csv": "First Name,Last Name,Email Address,Company,Position,Connected On",
    "Messages.csv": "From,To,Date,Subject,Content,Direction,Folder",
    "Invitations.csv": "From,To,Sent At,Message,Direction",
    "Profile.csv": "First Name,Last Name,Maiden Name,Address,Birth Date,Contact Instructions,"
    "Headline,Summary,Industry,Country,Zip Code,Geo Location,Twitter Handles,Websites,"
    "Instant Messengers",
    "Positions.csv": H25["Positions.csv"],
    "Education.csv": H25["Education.csv"],
    "Skills.csv": "Name",
    "Email Addresses.csv": H25["Email Addresses.csv"],
    "Phone Numbers.csv": "Extension,Number,Type",
    "Registration.csv": "Registration Date,Registration IP Address,Invited by (First Name),"
    "Invited by (Last Name),Subscription Types",
    "Recommendations Received.csv": H25["Recommendations_Received.csv"],
    "Projects.csv": "Title,Description,Url,Start Date,End Date",
    "Causes You Care About.csv": "Supported Cause",
    "Videos.csv": "Description,Link",
    "SavedJobAlerts.csv": "Saved Search Date,Jobs Search Url",
    "Jobs/Saved Jobs.csv": H25["Jobs/Saved Jobs.csv"],
    # UTF-16LE with BOM, TAB-separated, every field quoted:
    "Shares.csv": '"Date"\t"Share Title"\t"Share Description"\t"Share Link"\t"Share Commentary"'
    '\t"Shared URL"\t"Media URL"\t"Type"\t"Visibility"',
    "Search Queries.csv": '"Time"\t"Search Query"',
    "Logins.csv": '"Login Date"\t"IP Address"\t"User Agent"\t"Login Type"',
    "Account Status History.csv": '"Time"\t"Event"',
}

# The Outlook CSV of the 2012 "Export contacts" page: 59 columns, every header quoted.
H12_OUTLOOK = (
    '"Title","First Name","Middle Name","Last Name","Suffix","E-mail Address","E-mail 2 Address",'
    '"E-mail 3 Address","Business Street","Business Street 2","Business Street 3","Business City",'
    '"Business State","Business Postal Code","Business Country","Home Street","Home Street 2",'
    '"Home Street 3","Home City","Home State","Home Postal Code","Home Country","Other Street",'
    '"Other Street 2","Other Street 3","Other City","Other State","Other Postal Code",'
    '"Other Country","Company","Department","Job Title","Assistant\'s Phone","Business Fax",'
    '"Business Phone","Business Phone 2","Callback","Car Phone","Company Main Phone","Home Fax",'
    '"Home Phone","Home Phone 2","ISDN","Mobile Phone","Other Fax","Other Phone","Pager",'
    '"Primary Phone","Radio Phone","TTY/TDD Phone","Telex","Assistant\'s Name","Birthday",'
    '"Manager\'s Name","Notes","Other Address PO Box","Spouse","Web Page","Personal Web Page"'
)
# The legacy received-endorsements file kept beside the current one in 2022 Complete exports.
H_LEGACY_ENDORSEMENTS = ('"Endorsement Date"\t"Skill Name"\t"Endorser First Name"\t'
                         '"Endorser Last Name"\t"Endorser Public Url"\t"Endorsement Status"')

# --------------------------------------------------------------------------- word pools


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "James Mary Olivia Liam Emma Noah Sophia Lucas Mia Ethan Ava Mateo Isabella Leo Charlotte "
    "Hannah Daniel Sarah David Laura Thomas Anna Michael Julia Peter Maria Paul Elena Mark "
    "Nina Grace Oscar Ruth Simon Claire Adam Eva Victor Irene Martin Alice Hugo Jonas Lena "
    "Felix José Zoë Chloé Renée Amélie François Hélène Jürgen Björn Søren Åsa Jörg Günther "
    "Łukasz Paweł Małgorzata Wojciech Agnieszka Bartłomiej Ömer Ayşe Çağla İlker Thảo Dũng "
    "Priya Aarav Ananya Rahul Vikram Fatima Mohammed Youssef Layla Omar Olúwaseun Chinedu "
    "Ngozi Kwame Amara Sipho Thandiwe Hiroshi Yuki Haruto Sakura Min-jun Seo-yeon Wei Jing "
    "Xin Ivan Dmitri Olga Анна Сергей Giulia Luca Matteo Chiara Inês João Sofía Andrés Lucía "
    "Camila Joaquín Sean Siobhán Niamh"
)
LAST = _words(
    "Smith Johnson Brown Taylor Anderson Thomas Jackson White Harris Martin Thompson Moore "
    "Clark Lewis Walker Hall Young King Wright Scott Baker Turner Morgan Cooper Reed Bailey "
    "García Martínez Rodríguez López González Pérez Müller Schröder Schäfer Weiß Becker "
    "Fischer Kowalski Wiśniewski Nowak Wójcik Kamiński Dubois Lefèvre Moreau Girard Rossi "
    "Bianchi Esposito Novák Dvořák Jensen Nilsson Öberg Håkansson Chen Wang Li Zhang Liu "
    "Tanaka Suzuki Sato Kim Park Choi Patel Sharma Gupta Iyer Okafor Adeyemi Mensah Nguyễn "
    "Trần Phạm Silva Santos Oliveira Pereira O'Brien O'Connor Ivanova Petrov Петров Yılmaz "
    "Kaya Haddad Cohen Levi Murphy Kelly"
)
LAST += ["Van der Berg", "de la Cruz", "van Dijk", "Da Silva"]
CJK_FIRST = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "지훈", "민서", "翔太", "美咲")
CJK_LAST = ("王", "李", "张", "刘", "陈", "杨", "김", "이", "佐藤", "高橋")
NICKNAMES = ('Robert "Bob"', 'Katherine "Kat"', 'Alexander "Sasha"', 'Elizabeth "Liz"',
             'Jonathan "Jon"', 'Margaret "Peggy"')
CREDENTIALS = (", PhD", ", MBA", ", CFA", ", PMP", ", CPA", ", MD")
EMOJI = ("🚀", "☕", "🌍", "✨", "🌱", "💡", "🎯", "📈")

CO_A = ("Blue", "North", "Quantum", "Bright", "Silver", "Red Oak", "Nimbus", "Vertex", "Cobalt",
        "Helix", "Granite", "Lumen", "Orbit", "Pine", "Harbor", "Atlas", "Summit", "Kestrel",
        "Meridian", "Aurora", "Copper", "Tidal", "Falcon", "Juniper", "Zephyr", "Nordlicht",
        "Étoile", "Wisła", "Sakura", "Mistral")
CO_B = ("Labs", "Systems", "Analytics", "Health", "Capital", "Software", "Logistics", "Robotics",
        "Media", "Consulting", "Energy", "Bank", "Foods", "Mobility", "Security", "Cloud",
        "Networks", "Biotech", "Studios", "Retail")
CO_C = ("", "", "", " Inc.", ", Inc.", " GmbH", " Ltd", " S.A.", " AG", " B.V.", " LLC",
        " Sp. z o.o.", " SAS", " & Co.", " (Stealth)")
TITLES = ("Software Engineer", "Data Scientist", "Product Manager", "Recruiter",
          "Talent Acquisition Partner", "UX Designer", "Account Executive", "Marketing Manager",
          "DevOps Engineer", "Data Engineer", "Engineering Manager", "Sales Director",
          "Solutions Architect", "Business Analyst", "Financial Analyst", "HR Business Partner",
          "Customer Success Manager", "Site Reliability Engineer", "Research Scientist",
          "Consultant", "Project Manager", "Frontend Developer", "Backend Developer",
          "Security Engineer", "Content Strategist", "Operations Manager")
SENIORITY = ("", "", "", "Senior ", "Staff ", "Lead ", "Principal ", "Junior ", "Associate ")
ODD_TITLES = ("CEO & Co-founder", "VP, Engineering", 'Head of "Growth"', "Ingénieure logicielle",
              "Softwareentwickler", "软件工程师", "Founder | Advisor | Speaker",
              "Director, Data & AI", "Kierownik projektu", "Open to work 🔎")
SCHOOLS = ("University of Northfield", "Technische Hochschule Südstadt",
           "École Supérieure d'Informatique de Valmont", "Politechnika Nadwiślańska",
           "Lakeside State University", "Instituto Superior de Montealegre",
           "Eastbridge College", "Universität Bergfeld")
DEGREES = ("Bachelor of Science - BS, Computer Science", "Master of Science - MS",
           "Master of Business Administration - MBA", "Licence, Informatique",
           "Diplom-Informatiker")
SKILLS = ("Python", "SQL", "Machine Learning", "Data Analysis", "Project Management",
          "Leadership", "Kubernetes", "Amazon Web Services (AWS)", "Docker", "Java",
          "JavaScript", "TypeScript", "React.js", "Go (Programming Language)", "Rust",
          "Agile Methodologies", "Scrum", "Public Speaking", "Negotiation", "Recruiting",
          "Product Management", "User Experience (UX)", "Statistics", "Pandas (Software)",
          "PostgreSQL", "Linux", "Git", "CI/CD", "Terraform", "Cybersecurity", "Data Engineering",
          "Apache Spark", "Microsoft Excel", "Communication", "Team Management",
          "Stakeholder Management", "C++", "Natural Language Processing (NLP)", "Figma",
          "Business Strategy", "Sales", "Marketing Strategy", "Financial Modeling")
TOPICS = ("data engineering", "platform reliability", "LLM evaluation", "supply chain analytics",
          "design systems", "cloud cost optimisation", "zero-trust security", "B2B sales",
          "talent acquisition", "product-led growth", "observability", "edge computing",
          "fintech compliance", "Kubernetes operators", "accessibility (a11y)",
          "remote onboarding", "pricing experiments", "open-source licensing", "R&amp;D budgets")
EVENTS = ("data summit in Lisbon", "Berlin meetup", "alumni dinner", "product conference",
          "hackathon", "career fair", "webinar on hiring", "offsite in Kraków", "Paris meetup")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow", "next week",
        "Thursday afternoon", "Monday morning")
CLOCK = ("10:30", "2 pm", "9am CET", "16h", "11:00 EST", "noon", "3:15pm")
SALARY = ("€85,000–€95,000", "$140k–$160k + equity", "£70,000 plus bonus", "120.000 € brutto",
          "competitive, DOE")
CITIES = ("Lyon, Auvergne-Rhône-Alpes, France", "Munich, Bavaria, Germany",
          "Kraków, Małopolskie, Poland", "Austin, Texas, United States",
          "Toronto, Ontario, Canada", "Bengaluru, Karnataka, India", "São Paulo, Brazil",
          "Greater Manchester, England, United Kingdom", "Zürich, Switzerland")
REACTIONS = ("LIKE", "LIKE", "LIKE", "PRAISE", "EMPATHY", "INTEREST", "APPRECIATION",
             "ENTERTAINMENT")
UAS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/124.0.0.0 Safari/537.36",
       "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
       "Gecko) Version/17.4 Safari/605.1.15",
       "LinkedIn/9.29.8 (iPhone; iOS 17.4.1; Scale/3.00)",
       "com.linkedin.android/4.1.9 (Linux; U; Android 14; en_US; Pixel 8)")

VOCABULARY = _words(
    "the be to of and a in that have i it for not on with he as you do at this but his by "
    "from they we say her she or an will my one all would there their what so up out if about "
    "who get which go me when make can like time no just him know take people into year your "
    "good some could them see other than then now look only come its over think also back "
    "after use two how our work first well way even new want because any these give day most "
    "us is are was were been has had did said got made team role job company project data "
    "product meeting call week month today tomorrow thanks thank great happy help please let "
    "share send sent email link post article talk event conference experience opportunity "
    "position interview offer salary remote hybrid office client customer market sales growth "
    "strategy plan launch feature release update feedback idea question answer problem "
    "solution design code review deploy cloud platform service system model analysis report "
    "deck slides agenda budget quarter goal result impact value process tool framework skill "
    "background profile resume cv candidate recruiter hiring manager engineer developer "
    "designer analyst lead head director founder startup network connection introduction "
    "coffee lunch dinner chat catch quick short long next last early late soon really very "
    "much many more less best better sure maybe probably definitely absolutely honestly "
    "actually still already yet again always never often sometimes usually here where why how "
    "what which whose while during before since until though although however therefore "
    "anyway also only even especially currently recently finally hopefully unfortunately "
    "luckily apparently basically love enjoy appreciate recommend suggest consider discuss "
    "explore join attend organise present prepare finish start continue schedule reschedule "
    "confirm cancel check follow reach connect reply respond forward attach review approve "
    "sign agree understand learn build ship scale hire grow move relocate travel visit city "
    "country europe weekend holiday vacation conference keynote panel workshop webinar "
    "podcast newsletter course certificate degree university school alumni colleague friend "
    "partner mentor mentee manager peer intern student summer winter spring autumn morning "
    "afternoon evening night monday tuesday wednesday thursday friday schedule calendar "
    "invite slot zoom teams phone number address location timezone cet pst est utc deadline "
    "priority blocker risk issue bug fix test pipeline dashboard metric kpi okr roadmap "
    "backlog sprint standup retro demo pilot proof concept contract proposal invoice payment "
    "pricing discount license renewal partnership integration api sdk migration security "
    "compliance privacy audit policy gdpr onboarding training documentation wiki support "
    "ticket escalation outage incident postmortem lesson merci beaucoup danke schön dziękuję "
    "bardzo gracias obrigado grazie très bien genau świetnie perfecto ótimo bene 谢谢 好的 没问题 "
    "ありがとう 大丈夫 감사합니다 спасибо хорошо 🙂 👍 🎉 🙏 🚀 ☕ 😂 ✅"
)
"""Words of the fresh text in messages and posts (Zipf-weighted, in a seeded order)."""

# Styles with a language mix ("polyglot"): words (or, for Chinese and Japanese, characters
# written without spaces) of the scripts a member may write in, and names in those scripts.
CYRILLIC_WORDS = _words(
    "и в не на я что с он как это по но за мы они вы так все она от у же из к ты то бы "
    "только было когда уже для вот да нет если или тоже очень работа команда проект компания "
    "встреча звонок неделя завтра сегодня спасибо привет добрый день вечер здравствуйте "
    "вакансия резюме опыт зарплата офис удалённо собеседование предложение конференция "
    "данные продукт клиент задача решение вопрос ответ ссылка презентация отчёт бюджет "
    "срок рынок рост план релиз обновление отзыв идея проблема код ревью облако сервис "
    "система модель анализ инженер разработчик дизайнер аналитик менеджер руководитель "
    "коллега друг рад рада буду давайте конечно отлично хорошо понял договорились удачи "
    "поздравляю москва петербург казань новосибирск"
)
ARABIC_WORDS = _words(
    "في من على إلى عن مع هذا هذه ذلك التي الذي كان أن لا نعم شكرا مرحبا أهلا السلام عليكم "
    "صباح الخير مساء العمل الفريق المشروع الشركة اجتماع مكالمة الأسبوع غدا اليوم وظيفة "
    "السيرة الذاتية خبرة الراتب المكتب عن بعد مقابلة عرض مؤتمر البيانات المنتج العميل "
    "المهمة الحل سؤال جواب رابط تقرير الميزانية السوق النمو خطة إصدار تحديث فكرة مشكلة "
    "مهندس مطور مصمم محلل مدير زميل صديق سعيد بالتأكيد ممتاز جيد تمام إن شاء الله "
    "مبروك بالتوفيق دبي الرياض القاهرة عمّان الدوحة"
)
HANGUL_WORDS = _words(
    "안녕하세요 감사합니다 네 아니요 회의 내일 오늘 다음 주 프로젝트 팀 회사 채용 면접 이력서 "
    "경력 연봉 재택 근무 데이터 제품 고객 문제 해결 질문 답변 링크 보고서 일정 확인 부탁드립니다 "
    "좋습니다 알겠습니다 서울 부산 개발자 디자이너 매니저 축하드립니다"
)
CJK_TEXT = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过"
    "家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本"
    "见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己"
    "话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平"
    "真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报"
    "立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务"
    "制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科"
    "怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运"
    "武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸"
    "钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似"
    "斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切乎苦证德号候"
)
KANA_TEXT = (
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
    "がぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽ"
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
)
EMOJI_HEAVY = tuple(
    "😀😂🤣😊😍😘😎🤔😅😉🙌👏👍👌🙏💪🔥✨🎉🎊🚀💡📈📊💼📅☕🍕🌍🌟❤️💯✅❗🤝🥳😴🙈🤯📣"
)
SCRIPT_NAMES = (
    (CJK_FIRST, CJK_LAST),
    (("Алексей", "Мария", "Дмитрий", "Екатерина", "Иван", "Ольга", "Сергей", "Наталья",
      "Андрей", "Татьяна", "Михаил", "Анастасия"),
     ("Иванов", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Козлов", "Новикова",
      "Морозов", "Волкова")),
    (("محمد", "فاطمة", "أحمد", "مريم", "علي", "نور", "يوسف", "ليلى", "عمر", "سارة", "خالد",
      "هدى"),
     ("العلي", "حداد", "الحسن", "منصور", "سليمان", "الخطيب", "ناصر", "عبد الله", "يوسف",
      "الشامي")),
)

SENTENCES = (
    "Thanks for connecting, {first}!", "Great to meet you at the {event} last week.",
    "Are you free for a quick call on {day}?", 'Does "{day}" work for you?',
    "I saw your post about {topic}, really insightful.",
    "We're hiring a {title} at {company}, would you be open to a chat?",
    "Happy to help, just send me your CV.", "Let me check with my team and get back to you.",
    "Here is the link: {link}", "Congrats on the new role at {company}!",
    "I'm working on {topic} at the moment, would love your take on it.",
    "Sorry for the late reply, it's been a busy week.",
    "Could you share the slides from your talk on {topic}?",
    "The team at {company} is growing, so ping me if you know anyone.",
    "Sure, {clock} works. See you then!", "The salary range is {salary}.",
    "Not right now, but thanks for thinking of me.",
    "Your background in {topic} is exactly what we need.",
    'My manager called it "the {topic} problem", which made me laugh.',
    "I'll be in town {day}, coffee? ☕", "Congrats!! 🎉🎉",
    "We just shipped the new {topic} feature 🚀", "Thanks a lot 🙏",
    "Merci pour l'invitation, {first} !", "Très heureux de rejoindre {company}.",
    "Vielen Dank für die Nachricht, ich melde mich nächste Woche.",
    "Grüße aus München! Können wir am {day} telefonieren?",
    "Dziękuję za kontakt, chętnie porozmawiam o {topic}.", "很高兴认识你！下周有空聊聊吗？",
    "谢谢，我们{day}见。", "¡Gracias por conectar! Un saludo desde Málaga.",
    "Obrigado pela mensagem, falamos em breve.", "ありがとうございます。来週お話ししましょう。",
    "Спасибо за приглашение!", "Quick question: is the role remote, hybrid, or on-site?",
    "I've forwarded your profile to the hiring manager, {first}.",
    "Would you mind endorsing me for {topic}? Happy to return the favour.",
    "Our Q3 numbers look good, details in the deck: {link}",
    "Let's sync after the {event}, I have a few ideas on {topic}.",
    "I'm not looking at the moment, but I'd be glad to stay in touch.",
    "Please find the agenda here: {link} (password: \"spring\")",
)
SHORT = ("Thanks!", "Sounds good.", "Sure", "Ok, great", "👍", "Will do.", "Haha, true 😂",
         "Talk soon!", "Merci !", "Danke!", "好的", "Dzięki!", "Yes, that works.",
         "No worries at all.", "Perfect, thanks {first}!", "Great, thanks", "Noted.",
         "See you {day}!", "Hi {first}, how are you?", "Congrats, {first}! 🎉")
SUBJECTS = ("Opportunity at {company}", "{title} role, remote", "Quick question",
            "Re: your profile", "Exciting {title} opening", "Invitation: {event}",
            "Your next role at {company}?")


# --------------------------------------------------------------------------- small helpers


def _seed(*parts: object) -> int:
    """A 64-bit seed derived from the parts (stable across runs, unlike ``hash``)."""
    return int.from_bytes(sha256(repr(parts).encode()).digest()[:8], "big")


def scale_factor(scale: str | float) -> float:
    """The multiplier of "small" that ``scale`` stands for."""
    if isinstance(scale, str):
        if scale in SCALES:
            return SCALES[scale]
        try:
            scale = float(scale)
        except ValueError:
            raise ValueError(
                f"unknown scale {scale!r}: use {sorted(SCALES)} or a number") from None
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    return float(scale)


def add_months(d: date, n: int) -> date:
    """``d`` moved by ``n`` calendar months (the day is clamped to the month's end)."""
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def export_name(d: date, era: str = "2025") -> str:
    """The zip name LinkedIn uses for an export made on ``d`` (US date order); the file name
    of the 2012 "Export contacts" page for those eras (it carried no date)."""
    if era == "2012-outlook":
        return "linkedin_connections_export_microsoft_outlook.csv"
    if era == "2012-vcard":
        return "linkedin_connections_export.vcf"
    kind = "Basic" if era == "2025" else "Complete"
    return f"{kind}_LinkedInDataExport_{d:%m-%d-%Y}.zip"


def member_names(era: str = "2025") -> list[str]:
    """The CSV members of an export of ``era``. A 2018 export also holds one article,
    ``Articles/YYYY-MM-DD HH:MM:SS.html``, named after its publication time."""
    if era == "2025":
        return list(H25)
    if era == "2018":
        return list(H18)
    raise ValueError(f"unknown era {era!r}: use one of {ERAS}")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), timezone.utc)


def _us(ts: float) -> str:
    """``9/27/25, 8:41 AM``."""
    t = _utc(ts)
    h = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    return f"{t.month}/{t.day}/{t.year % 100:02d}, {h}:{t.minute:02d} {ampm}"


def _iso(ts: float, suffix: str = "") -> str:
    return f"{_utc(ts):%Y-%m-%d %H:%M:%S}{suffix}"


def _slash(ts: float) -> str:
    return f"{_utc(ts):%Y/%m/%d %H:%M:%S} UTC"


def _java(ts: float) -> str:
    """Java ``Date.toString()``: ``Wed Oct 01 16:02:32 UTC 2025``."""
    t = _utc(ts)
    return f"{WEEKDAYS[t.weekday()]} {MONTHS[t.month - 1]} {t:%d %H:%M:%S} UTC {t.year}"


def _mon_year(ts: float) -> str:
    t = _utc(ts)
    return f"{MONTHS[t.month - 1]} {t.year}"


def _dmy(ts: float) -> str:
    t = _utc(ts)
    return f"{t.day:02d} {MONTHS[t.month - 1]} {t.year}"


_TRANSLIT = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "ı": "i", "đ": "d",
                           "æ": "ae", "œ": "oe"})


def _ascii(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.translate(_TRANSLIT))
    return s.encode("ascii", "ignore").decode().lower()


@dataclass(slots=True)
class Person:
    first: str
    last: str
    url: str
    email: str = ""

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


def _person(r: random.Random, email_p: float = 0.0, foreign: float = 0.0) -> Person:
    """A synthetic person: random name parts, never a real profile. ``foreign`` is the share
    of people named in CJK, Cyrillic or Arabic script (beyond the few of the default)."""
    x = r.random()
    first, last = r.choice(FIRST), r.choice(LAST)
    if foreign and r.random() < foreign:
        firsts, lasts = SCRIPT_NAMES[r.randrange(len(SCRIPT_NAMES))]
        first, last = r.choice(firsts), r.choice(lasts)
    elif x < 0.035:
        first, last = r.choice(CJK_FIRST), r.choice(CJK_LAST)
    elif x < 0.045:
        first = r.choice(NICKNAMES)
    elif x < 0.06:
        last += r.choice(CREDENTIALS)
    elif x < 0.068:
        first = f"{first} {r.choice(EMOJI)}"
    words = _ascii(f"{first} {last}").replace(",", " ").replace("'", "").split()
    core = "-".join(w for w in words if w.isalnum())
    if not core:
        core = quote(f"{first}-{last}").lower()
    suffix = f"{r.getrandbits(36):09x}" if r.random() < 0.7 else ""
    slug = f"{core}-{suffix}" if suffix else core
    email = ""
    if r.random() < email_p:
        tld = r.choice(("com", "org", "net"))
        email = f"{core.replace('-', '.')[:24] or 'member'}@example.{tld}"
    return Person(first, last, f"https://www.linkedin.com/in/{slug}", email)


def _company(r: random.Random) -> str:
    return f"{r.choice(CO_A)} {r.choice(CO_B)}{r.choice(CO_C)}"


def _title(r: random.Random) -> str:
    if r.random() < 0.05:
        return r.choice(ODD_TITLES)
    return r.choice(SENIORITY) + r.choice(TITLES)


def _fill(r: random.Random, template: str) -> str:
    """Fill every slot except ``{first}`` (filled later with the recipient's name)."""
    for slot, fn in _SLOTS:
        if slot in template:
            template = template.replace(slot, fn(r))
    return template


def _link(r: random.Random) -> str:
    n = r.randrange(10**6, 10**7)
    return r.choice((
        f"https://www.example.com/careers/{n}",
        f"https://calendar.example.org/slot/{n}/30min",
        f"https://forms.example.net/apply?id={n}&amp;src=li",
        f'<a href="https://www.example.com/p/{n}">https://www.example.com/p/{n}</a>',
    ))


_SLOTS: tuple[tuple[str, Callable[[random.Random], str]], ...] = (
    ("{event}", lambda r: r.choice(EVENTS)), ("{day}", lambda r: r.choice(DAYS)),
    ("{topic}", lambda r: r.choice(TOPICS)), ("{title}", _title), ("{company}", _company),
    ("{link}", _link), ("{clock}", lambda r: r.choice(CLOCK)),
    ("{salary}", lambda r: r.choice(SALARY)),
)


TABLE = 1 << 16


@functools.cache
def _u16(k: int) -> struct.Struct:
    return struct.Struct(f"<{k}H")  # little-endian, so the draws are the same on any host


class _Pools:
    """Text pools built once per seed; message text is drawn fresh from Zipf-weighted words.

    Drawing words per message (rather than reusing whole sentences) keeps the text about as
    compressible as real chat text: deflate gets about 3.5:1 on it."""

    def __init__(self, seed: int, style: Style = STYLES["default"]) -> None:
        self.style = style
        r = random.Random(_seed(seed, "pools"))
        self.sentences = [_fill(r, r.choice(SENTENCES)) for _ in range(3000)]
        self.short = [_fill(r, r.choice(SHORT)) for _ in range(600)]
        self.subjects = [_fill(r, r.choice(SUBJECTS)) for _ in range(400)]
        self.companies = [_company(r) for _ in range(900)]
        self.titles = [_title(r) for _ in range(400)]
        self.recruiters = [_person(r) for _ in range(500)]
        if style.foreign_names:  # drawn afterwards, so the default pools stay as they were
            rf = random.Random(_seed(seed, "pools", "foreign names"))
            self.recruiters = [_person(rf, foreign=style.foreign_names) for _ in range(500)]
        names = {w.lower() for w in FIRST + LAST + list(SKILLS) if " " not in w}
        head, tail = list(VOCABULARY[:40]), sorted(set(VOCABULARY[40:]) | names)
        r.shuffle(tail)  # function words stay most frequent, the rest is ranked per seed
        tokens, weights = [], []
        for i, w in enumerate(head + tail):
            z = 1.0 / (i + 1)
            tokens += [w, w + ",", w + ".", w + "?", f'"{w}"']
            weights += [z * 0.84, z * 0.08, z * 0.05, z * 0.015, z * 0.015]
        tokens += [str(r.randrange(2, 2000)) for _ in range(300)]
        weights += [0.0015] * 300
        # A Zipf table of 2**16 slots indexed by random 16-bit numbers: drawing k words is a
        # few C calls (randbytes, struct, itemgetter) instead of k Python-level choices.
        scale = TABLE / sum(weights)
        table = [t for t, w in zip(tokens, weights, strict=True) for _ in range(round(w * scale))]
        self.table = tuple((table + tokens)[:TABLE])
        if style.script_mix:
            self._scripts(random.Random(_seed(seed, "pools", "scripts")))
        if style.recruiter:
            rr = random.Random(_seed(seed, "pools", "pitches"))
            self.pitches = [self.text(rr, 4 + rr.randrange(5), " ") for _ in range(12)]

    def _scripts(self, r: random.Random) -> None:
        """Zipf-ranked words or characters of each script a polyglot member writes in."""
        def ranked(units: Sequence[str]) -> tuple[list[str], list[float]]:
            units = list(dict.fromkeys(units))
            r.shuffle(units)
            return units, list(itertools.accumulate(1.0 / (i + 1) for i in range(len(units))))

        self.script_units = {
            "zh": ranked(CJK_TEXT), "ja": ranked(KANA_TEXT + CJK_TEXT[:300]),
            "ko": ranked(HANGUL_WORDS), "ru": ranked(CYRILLIC_WORDS), "ar": ranked(ARABIC_WORDS),
            "emoji": ranked(EMOJI_HEAVY),
        }

    def foreign(self, r: random.Random) -> str:
        """One sentence in another script (or English strewn with emoji)."""
        lang = r.choice(("zh", "zh", "ja", "ko", "ru", "ru", "ar", "ar", "emoji", "emoji"))
        if lang == "emoji":
            units, cum = self.script_units["emoji"]
            words = itemgetter(*_u16(6).unpack(r.randbytes(12)))(self.table)
            return " ".join(f"{w} {r.choices(units, cum_weights=cum)[0]}" for w in words)
        units, cum = self.script_units[lang]
        k = 4 + int(r.random() * 24)
        drawn = r.choices(units, cum_weights=cum, k=k)
        if lang in ("zh", "ja"):
            cut = k // 2
            return "".join(drawn[:cut]) + "，" + "".join(drawn[cut:]) + "。"
        return " ".join(drawn) + ("؟" if lang == "ar" and k % 5 == 0 else ".")

    def text(self, r: random.Random, n: int, sep: str) -> str:
        """``n`` sentences joined by ``sep``; may hold ``{first}`` (a recipient's name).

        Most sentences are 6 to 28 fresh words; the rest are template sentences with names,
        links, quotes and other languages."""
        parts, table, mix = [], self.table, self.style.script_mix
        for _ in range(n):
            x = r.random()
            if mix and r.random() < mix:
                parts.append(self.foreign(r))
            elif x < 0.12:
                parts.append(self.sentences[int(r.random() * len(self.sentences))])
            else:
                k = 3 + int(x * 26)
                w = " ".join(itemgetter(*_u16(k).unpack(r.randbytes(2 * k)))(table))
                parts.append(w[0].upper() + w[1:].rstrip(",.?") + ("?" if x > 0.9 else "."))
        return sep.join(parts)

    def prose(self, r: random.Random, n: int, sep: str) -> str:
        """``n`` sentences for posts and profiles (``{first}`` filled with someone's name)."""
        return self.text(r, n, sep).replace("{first}", r.choice(FIRST))


# --------------------------------------------------------------------------- the simulated member


@dataclass(frozen=True, slots=True)
class Plan:
    """Row counts for one scale: ``base`` rows exist before the first export, ``monthly``
    rows are added per month (both scaled); messages dominate the size."""

    f: float
    conversations: int
    conversations_monthly: float
    streams: dict[str, tuple[int, float, int]] = field(default_factory=dict)

    @classmethod
    def for_scale(cls, f: float) -> Plan:
        g = (f / 10.0) ** 0.7  # people-ish counts grow slower than the byte size
        conns = min(28000, round(4000 * g))  # LinkedIn caps a member at 30,000 connections
        # (base rows at medium scale, rows added per month at medium, span of base in days)
        medium = {
            "connections": (conns, min(conns * 0.016, (30000 - conns) / 24), 4200),
            "invitations": (1500 * g, 45 * g, 1500),
            "reactions": (1600 * g, 60 * g, 1100),
            "company_follows": (220 * g, 2.5 * g, 3600),
            "member_follows": (60 * g, 1.2 * g, 2000),
            "shares": (176 * g, 3 * g, 2200),
            "comments": (116 * g, 4 * g, 1500),
            "reposts": (178 * g, 4 * g, 1400),
            "endorsements_received": (300 * g, 4 * g, 3000),
            "endorsements_given": (205 * g, 2.5 * g, 3000),
            "learning": (149 * g, 2 * g, 1800),
            "rich_media": (40 * g, 0.8 * g, 1800),
            "searches": (600 * g, 40 * g, 700),
            "saved_jobs": (60 * g, 2 * g, 1400),
            "applications": (25 * g, 1 * g, 1400),
            "logins": (12 * g, 8 * g, 90),
        }
        streams = {k: (max(1, round(b)), mo, span) for k, (b, mo, span) in medium.items()}
        msgs = f * MSGS_PER_F
        return cls(f, max(3, round(msgs / MSGS_PER_CONV)), msgs * CONV_GROWTH / MSGS_PER_CONV,
                   streams)


# Calibration: messages at month 0 per unit of scale, the measured mean number of messages
# per conversation, and the monthly growth of new conversations (messages grow by about 40%
# over 12 months, as in building-blocks §8).
MSGS_PER_F = 5500.0
MSGS_PER_CONV = 4.6
CONV_GROWTH = 0.037

CHAT, GROUP, INMAIL, SPONSORED = range(4)
R = TypeVar("R")


@dataclass(slots=True)
class Conn:
    p: Person
    t: float
    company: str
    title: str
    company2: str
    title2: str
    change: int  # month index from which company2/title2 are shown (a job change)
    ghost: int  # month index from which the row is a ghost (the member left LinkedIn)
    removed: int  # month index from which the connection is gone


class Member:
    """Everything that is true of the synthetic member at export ``month`` of a series."""

    def __init__(self, *, seed: int, f: float, start: date, month: int, era: str,
                 quirks: frozenset[str] = frozenset(), deleted_at: int | None = None,
                 style: Style = STYLES["default"]) -> None:
        self.seed, self.f, self.month, self.era, self.quirks = seed, f, month, era, quirks
        self.style = style
        self.deleted_at = deleted_at  # from this month on, one conversation is deleted
        self.plan = Plan.for_scale(f)
        off = 6 * 3600 + _seed(seed, "hour") % (4 * 3600)  # export made in the morning, UTC
        self.T = [calendar.timegm(add_months(start, k).timetuple()) + off for k in range(month + 1)]
        self.now = self.T[-1]
        self.pools = _Pools(seed, style)
        self._days: dict[int, str] = {}
        self.profile = _Profile(self)
        self.conns, self.conn_t = self._connections()
        self.planted_rows: list[list[str]] = []  # rows on top of Connections.csv (quirks)

    # -- event streams ---------------------------------------------------------------------

    def stream(self, name: str, base: int, monthly: float, span_days: int,
               shape: float = 1.8, bursty: bool = False) -> tuple[list[float], list[int]]:
        """Chronological event times up to now, and the month index each one was added in.

        ``base`` events lie in the ``span_days`` before the first export, denser towards its
        end; every later month adds about ``monthly`` events inside that month."""
        r = random.Random(_seed(self.seed, name, "base"))
        t0, span = self.T[0], span_days * DAY
        times = [t0 - span + span * ((i + r.random()) / base) ** (1 / shape) for i in range(base)]
        added = [0] * base
        for k in range(1, self.month + 1):
            r = random.Random(_seed(self.seed, name, "month", k))
            n = int(monthly * (0.7 + 0.6 * r.random()) + r.random())
            if bursty:  # one month in four is busy (3.1x), the others quiet (0.3x)
                n = round(n * (3.1 if _seed(self.seed, name, "burst", k) % 4 == 0 else 0.3))
            a, b = self.T[k - 1], self.T[k]
            times += sorted(a + (b - a) * r.random() for _ in range(n))
            added += [k] * n
        return times, added

    def named_stream(self, name: str) -> tuple[list[float], list[int]]:
        base, monthly, span = self.plan.streams[name]
        return self.stream(name, base, monthly, span)

    def rows(self, name: str, make: Callable[[random.Random, float, int], R],
             since: float = float("-inf")) -> list[R]:
        """One row per event of ``name`` at or after ``since``, newest first.

        ``make(r, t, added)`` draws the row of the event at ``t`` added in month ``added``;
        it is called for every event in order, so each row is stable across months."""
        times, added = self.named_stream(name)
        r = random.Random(_seed(self.seed, name, "attr"))
        rows = [make(r, t, a) for t, a in zip(times, added, strict=True)]
        return [row for row, t in zip(rows, times, strict=True) if t >= since][::-1]

    # -- connections -----------------------------------------------------------------------

    def _connections(self) -> tuple[list[Conn], list[float]]:
        times, added = self.named_stream("connections")
        r = random.Random(_seed(self.seed, "connections", "attr"))
        pools, out = self.pools, []
        email_p = 0.014 if self.era == "2025" else 1.0
        for t, a in zip(times, added, strict=True):
            p = _person(r, email_p, self.style.foreign_names)
            company = pools.companies[r.randrange(900)] if r.random() > 0.07 else ""
            title = pools.titles[r.randrange(400)] if company or r.random() < 0.3 else ""
            change = a + 1 + r.randrange(40) if r.random() < self.style.job_change_p else NEVER
            company2, title2 = pools.companies[r.randrange(900)], pools.titles[r.randrange(400)]
            x = r.random()
            ghost = 0 if x < 0.011 else a + 1 + r.randrange(60) if x < 0.02 else NEVER
            removed = a + 1 + r.randrange(24) if r.random() < self.style.removed_p else NEVER
            if self.era != "2025":
                ghost = NEVER
            out.append(Conn(p, t, company, title, company2, title2, change, ghost, removed))
        return out, times

    def _quirk_of(self, quirk: str, i: int, every: int) -> int | None:
        """For about one connection in ``every`` (when ``quirk`` is on): a number drawn for
        connection ``i`` alone, so the other rows stay as they are without the quirk."""
        if quirk not in self.quirks:
            return None
        drawn = _seed(self.seed, quirk, i)
        return drawn // every if drawn % every == 0 else None

    def email_of(self, i: int, c: Conn) -> str:
        urn = self._quirk_of("urn-emails", i, 25)
        if urn is None:
            return c.p.email
        return f"urn:li:member:{1_000_000_000 + urn % 999_999_999}"

    def url_of(self, i: int, c: Conn) -> str:
        """The profile URL shown in this month's export: a moved one from the month after
        the connection was made (at the earliest), with a new slug."""
        moved = self._quirk_of("moved-urls", i, 8)
        if moved is not None and self.month >= 1 + moved % 3:
            return f"{c.p.url.rsplit('-', 1)[0]}-{moved % 16**6:06x}"
        return c.p.url

    def connection_rows(self) -> Iterator[list[str]]:
        m = self.month
        yield from self.planted_rows
        for i in range(len(self.conns) - 1, -1, -1):  # newest on top
            c = self.conns[i]
            if c.removed <= m:
                continue
            if c.ghost <= m:
                yield ["", "", "", "", "", "", _dmy(c.t)]
                continue
            co, ti = (c.company2, c.title2) if c.change <= m else (c.company, c.title)
            yield [c.p.first, c.p.last, self.url_of(i, c), self.email_of(i, c), co, ti, _dmy(c.t)]

    def connection_rows_2018(self) -> Iterator[list[str]]:
        m = self.month
        order = sorted(range(len(self.conns)), key=lambda i: (i * 2654435761) % 4294967291)
        for i in order:  # the 2018 export was not sorted
            c = self.conns[i]
            if c.removed <= m:
                continue
            co, ti = (c.company2, c.title2) if c.change <= m else (c.company, c.title)
            yield [c.p.first, c.p.last, self.email_of(i, c), co, ti, _us(c.t)]

    def connection_rows_2012(self) -> Iterator[tuple[str, str, str, str, str]]:
        """(first, last, e-mail, company, job title) of the 2012 contacts export, by name."""
        m = self.month
        kept = [c for c in self.conns if c.removed > m]
        for c in sorted(kept, key=lambda c: (c.p.last.casefold(), c.p.first.casefold())):
            co, ti = (c.company2, c.title2) if c.change <= m else (c.company, c.title)
            yield c.p.first, c.p.last, c.p.email, co, ti

    def someone(self, r: random.Random, t: float) -> Person:
        """A connection that existed at time ``t`` (biased towards recent ones)."""
        n = bisect.bisect_right(self.conn_t, t)
        if not n:
            return _person(r)
        return self.conns[n - 1 - int(n * r.random() ** 1.8)].p

    # -- formatting --------------------------------------------------------------------------

    def msg_date(self, ts: float) -> str:
        """``2024-11-15 10:22:33 UTC`` (cached per day: this runs once per message)."""
        d, s = divmod(int(ts), DAY)
        day = self._days.get(d)
        if day is None:
            day = self._days[d] = f"{_utc(d * DAY):%Y-%m-%d}"
        h, s = divmod(s, 3600)
        return f"{day} {h:02d}:{s // 60:02d}:{s % 60:02d} UTC"

    # -- conversations and messages -----------------------------------------------------------

    def _conv_times(self, r: random.Random, s: float) -> tuple[int, list[float]]:
        """Kind and message times of a conversation started at ``s`` (``r`` seeded for it).

        Later bursts revive the conversation months after it started, so it moves back to
        the top of messages.csv in a later export."""
        x = r.random()
        n_avail = bisect.bisect_right(self.conn_t, s)
        if self.style.recruiter:  # most threads are the member's InMails to candidates
            x = 0.77 + 0.17 * x / 0.8 if x < 0.8 else 0.72 * (x - 0.8) / 0.2
        if n_avail and x < 0.72:
            kind, n, revive = CHAT, 1 + min(60, int(r.expovariate(1 / 3.0))), 0.4
        elif n_avail >= 4 and x < 0.77:
            kind, n, revive = GROUP, 3 + min(80, int(r.expovariate(1 / 6.0))), 0.4
        elif x < 0.94:
            kind, n, revive = INMAIL, 1 + (r.random() < 0.4) + (r.random() < 0.15), 0.15
        else:
            kind, n, revive = SPONSORED, 1, 0.0
        if self.style.revive != 1.0:
            revive = min(0.9, revive * self.style.revive)
        bursts = 0 if r.random() >= revive else 1 + int(r.expovariate(1.0))
        times, t = [], s
        for b in range(bursts + 1):
            if b:
                t += DAY + r.expovariate(1 / (60 * DAY))
                n = 1 + int(r.expovariate(1 / 2.5))
            for i in range(n):
                if i:
                    t += 20 + r.expovariate(1 / 2400)
                times.append(t)
        return kind, times

    def _partner(self, r: random.Random, s: float) -> tuple[str, str, str]:
        n = bisect.bisect_right(self.conn_t, s)
        c = self.conns[n - 1 - int(n * r.random() ** 1.8)]
        if c.ghost == 0:
            return "LinkedIn Member", "", "there"
        return c.p.full, c.p.url, c.p.first

    def _conv_meta(self, r: random.Random, kind: int, s: float
                   ) -> tuple[str, str, str, str, list[tuple[str, str, str]]]:
        """Conversation ID, title, subject, folder and the other participants."""
        pools = self.pools
        text = f"{r.getrandbits(128):032x}"
        uid = f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}_100"
        cid = "2-" + base64.b64encode(uid.encode()).decode() if r.random() > 0.003 else ""
        y = r.random()
        folder = "INBOX" if y < 0.86 else "ARCHIVE" if y < 0.975 else ""
        title = subject = ""
        if kind == CHAT:
            others = [self._partner(r, s)]
        elif kind == GROUP:
            size = 2 + int(r.random() * 3)
            others = list(dict.fromkeys(self._partner(r, s) for _ in range(size)))  # distinct
            if r.random() < 0.5:
                title = r.choice(("Hackathon team", "Class of 2015 🎓", "Project Falcon, phase 2",
                                  'The "coffee" club ☕', "Équipe produit"))
        elif kind == INMAIL:
            if self.style.recruiter:  # a candidate, usually not a connection
                p = _person(r, foreign=self.style.foreign_names)
            else:
                p = pools.recruiters[r.randrange(len(pools.recruiters))]
            others = [(p.full, p.url, p.first)]
            subject = pools.subjects[r.randrange(len(pools.subjects))]
        else:
            others = [(pools.companies[r.randrange(900)], "", "")]
            subject = pools.subjects[r.randrange(len(pools.subjects))]
            folder = "SPAM" if r.random() < 0.3 else "INBOX"
        return cid, title, subject, folder, others

    def _content(self, r: random.Random, kind: int, i: int, to_first: str, by_first: str) -> str:
        pools = self.pools
        if kind == SPONSORED:
            return "<p>" + "</p><p>".join([pools.text(r, 2, " ") for _ in range(3)]) + "</p>"
        if kind == INMAIL and i == 0 and self.style.recruiter:
            pitch = pools.pitches[int(r.random() * len(pools.pitches))]
            s = (f"Hi {to_first},<br><br>{pitch}<br><br>{pools.text(r, 1, ' ')}<br><br>"
                 f"Best regards,<br>{by_first}")
        elif kind == INMAIL and i == 0:
            s = (f"Hi {to_first},<br><br>{pools.text(r, 3 + int(r.random() * 5), ' ')}<br><br>"
                 f"{pools.text(r, 2, ' ')}<br><br>Best regards,<br>{by_first}")
        elif self.style.length != "mixed":
            s = self._sized_content(r)
            if not s:
                return s
        else:
            x = r.random()
            if x < 0.26:
                return ""  # stickers, attachments, deleted messages
            if x < 0.39:
                s = pools.short[int(r.random() * len(pools.short))]
            elif x < 0.83:
                s = pools.text(r, 1 + int(r.random() * 6), " ")
            else:
                sep = "\n" if x > 0.985 else "<br>"  # a few real multi-line contents
                s = pools.text(r, 3 + int(r.random() * 9), sep)
            if 0.8 < x < 0.802:
                s += " <script>alert(1)</script>"
        return s.replace("{first}", to_first) if "{first}" in s else s

    def _sized_content(self, r: random.Random) -> str:
        """A message of a "short" (chat) or "long" (letter) style; empty for a sticker."""
        pools, x = self.pools, r.random()
        if self.style.length == "short":
            if x < 0.2:
                return ""
            if x < 0.65:
                return pools.short[int(r.random() * len(pools.short))]
            return pools.text(r, 1 + int(r.random() * 2), " ")
        if x < 0.08:
            return ""
        if x < 0.15:
            return pools.short[int(r.random() * len(pools.short))]
        if x < 0.5:
            return pools.text(r, 3 + int(r.random() * 6), " ")
        paragraphs = [pools.text(r, 2 + int(r.random() * 6), " ")
                      for _ in range(2 + int(r.random() * 5))]
        return "<br><br>".join(paragraphs)

    def _later(self, j: int, start: float, share: float, what: str) -> bool:
        """Whether the member has ``what`` (deleted, archived) conversation ``j`` by now: about
        ``share`` of conversations, 1 to 8 months after they started (hashed, no draws)."""
        h = _seed(self.seed, what, j)
        if h % 10_000 >= share * 10_000:
            return False
        return self.now >= start + (1 + (h >> 16) % 8) * 30 * DAY

    def _conversations(self) -> tuple[list[float], int]:
        base, monthly = self.plan.conversations, self.plan.conversations_monthly
        if self.style.conversations != 1.0:
            base = max(3, round(base * self.style.conversations))
            monthly *= self.style.conversations
        times, _ = self.stream("conversations", base, monthly, 4000, shape=2.2,
                               bursty=self.style.bursty)
        return times, _seed(self.seed, "conversation")

    def conversation_order(self) -> list[int]:
        """Conversations with at least one message before now, most recently active first.

        With ``deleted_at``, from that month on the conversation started last before the
        export of the month before is gone: its member deleted it (as a contact may ask them
        to). With ``deleted_at`` >= 2 only that month's export holds it."""
        order = self._active_conversations(self.now)
        if self.deleted_at is not None and self.month >= self.deleted_at:
            starts, _ = self._conversations()
            deleted = bisect.bisect_left(starts, self.T[self.deleted_at - 1]) - 1
            order = [j for j in order if j != deleted]
        if self.style.deleted_p:
            starts, _ = self._conversations()
            order = [j for j in order
                     if not self._later(j, starts[j], self.style.deleted_p, "deleted")]
        return order

    def _active_conversations(self, now: float) -> list[int]:
        starts, cbase = self._conversations()
        r, keyed = random.Random(), []
        for j, s in enumerate(starts):
            r.seed(cbase + j)
            _, times = self._conv_times(r, s)
            n = bisect.bisect_left(times, now)
            if n:
                keyed.append((-times[n - 1], j))
        keyed.sort()
        return [j for _, j in keyed]

    def conversation(self, j: int, s: float, cbase: int, r: random.Random
                     ) -> tuple[str, str, str, str, list[tuple[str, str, str]],
                                list[tuple[float, int, str]]]:
        """Conversation ``j``: (id, title, subject, folder, others, [(time, sender, content)])
        in chronological order; sender 0 is the member, k > 0 is ``others[k - 1]``."""
        r.seed(cbase + j)
        kind, times = self._conv_times(r, s)
        cid, title, subject, folder, others = self._conv_meta(r, kind, s)
        if (self.style.archived_p and folder == "INBOX"
                and self._later(j, s, self.style.archived_p, "archived")):
            folder = "ARCHIVE"
        me_first = self.profile.me.first
        msgs = []
        for i, t in enumerate(times):
            if t >= self.now:
                break
            if kind == CHAT:
                by = 0 if r.random() < 0.5 else 1
            elif kind == GROUP:
                by = int(r.random() * (len(others) + 1))
            elif kind == INMAIL and self.style.recruiter:
                by = 0 if i == 0 or r.random() < 0.5 else 1
            elif kind == INMAIL:
                by = 1 if i == 0 or r.random() < 0.4 else 0
            else:
                by = 1
            to_first = others[0][2] if by == 0 else me_first
            by_first = me_first if by == 0 else others[by - 1][2]
            msgs.append((t, by, self._content(r, kind, i, to_first, by_first)))
        return cid, title, subject, folder, others, msgs

    def message_rows(self) -> Iterator[list[str]]:
        """messages.csv rows: grouped by conversation, newest conversation and message first."""
        starts, cbase = self._conversations()
        me = self.profile.me
        r, fmt = random.Random(), self.msg_date
        for j in self.conversation_order():
            cid, title, subject, folder, others, msgs = self.conversation(j, starts[j], cbase, r)
            everyone = [(me.full, me.url, me.first), *others]
            heads = [[cid, title, name, url,  # the first six fields, per sender
                      ",".join(p[0] for k, p in enumerate(everyone) if k != by),
                      ",".join(p[1] for k, p in enumerate(everyone) if k != by)]
                     for by, (name, url, _) in enumerate(everyone)]
            for i in range(len(msgs) - 1, -1, -1):
                t, by, content = msgs[i]
                yield [*heads[by], fmt(t), subject if i == 0 else "", content, folder, ""]

    def message_rows_2018(self) -> Iterator[list[str]]:
        """Messages.csv (2018 form): one row per message, not sorted."""
        starts, cbase = self._conversations()
        me, r = self.profile.me, random.Random()
        for j in sorted(self.conversation_order(), key=lambda j: (j * 40503) % 65521):
            _, _, subject, folder, others, msgs = self.conversation(j, starts[j], cbase, r)
            for i, (t, by, content) in enumerate(msgs):
                frm = me.full if by == 0 else others[by - 1][0]
                to = others[0][0] if by == 0 else me.full
                yield [frm, to, _us(t), subject if i == 0 else "",
                       content.replace("<br>", "\n"), "OUTGOING" if by == 0 else "INCOMING",
                       folder or "INBOX"]


@dataclass(slots=True)
class Position:
    company: str
    title: str
    description: str
    location: str
    start: float
    end: float | None


@dataclass(slots=True)
class Recommendation:
    p: Person
    company: str
    title: str
    text: str
    t: float


class _Profile:
    """The member's own profile, with the edits made up to the export month."""

    def __init__(self, mem: Member) -> None:
        r = random.Random(_seed(mem.seed, "profile"))
        pools, t0 = mem.pools, mem.T[0]
        self.me = me = _person(r)
        me.email = f"{_ascii(me.first)[:1] or 'm'}.{_ascii(me.last)[:12] or 'member'}@example.com"
        self.phone = f"+1 202-555-01{r.randrange(100):02d}"
        self.city = r.choice(CITIES)
        self.birth = f"{r.choice(MONTHS)} {r.randrange(1, 29)}"
        self.registered = t0 - r.uniform(9, 13) * 365 * DAY
        self.summary = pools.prose(r, 4, " ") + "\n\n" + pools.prose(r, 3, " ")
        self.positions: list[Position] = []
        end: float | None = None
        start = t0 - r.uniform(1, 4) * 365 * DAY
        for _ in range(2 + r.randrange(4)):  # newest first
            self.positions.append(self._position(r, pools, start, end))
            end = start - r.uniform(10, 90) * DAY
            start = end - r.uniform(1, 5) * 365 * DAY
        self.education = [(r.choice(SCHOOLS), start - 5 * 365 * DAY, start - 30 * DAY,
                           r.choice(DEGREES))]
        self.skills = r.sample(SKILLS, 12 + r.randrange(20))
        self.headline = self._headline(r)
        self.received = [self._recommendation(r, t0 - r.uniform(30, 3000) * DAY, pools)
                         for _ in range(max(2, round(4 * (mem.f / 10) ** 0.35)))]
        self.given = [self._recommendation(r, t0 - r.uniform(30, 3000) * DAY, pools)
                      for _ in range(max(1, round(3 * (mem.f / 10) ** 0.35)))]
        job_change = 3 + r.randrange(18)
        for k in range(1, mem.month + 1):  # occasional edits, one random stream per month
            rk = random.Random(_seed(mem.seed, "profile", k))
            a, b = mem.T[k - 1], mem.T[k]
            if k == job_change:
                self.positions[0].end = a + (b - a) * 0.3
                self.positions.insert(0, self._position(rk, pools, a + (b - a) * 0.4, None))
                self.headline = self._headline(rk)
            elif rk.random() < mem.style.headline_p:
                self.headline = self._headline(rk)
            if rk.random() < 0.3:
                self.skills.append(rk.choice([s for s in SKILLS if s not in self.skills] or SKILLS))
            if rk.random() < 0.1:
                self.received.append(self._recommendation(rk, a + (b - a) * rk.random(), pools))
            if rk.random() < 0.05:
                self.given.append(self._recommendation(rk, a + (b - a) * rk.random(), pools))
            if mem.style.rewrite_p:
                self._rewrite(random.Random(_seed(mem.seed, "rewrite", k)), mem.style.rewrite_p,
                              pools)
        self.received.sort(key=lambda x: -x.t)
        self.given.sort(key=lambda x: -x.t)

    def _rewrite(self, r: random.Random, p: float, pools: _Pools) -> None:
        """With chance ``p``, one paragraph of the summary is rewritten; with chance ``p``, one
        bullet of a position's description."""
        if r.random() < p:
            paragraphs = self.summary.split("\n\n")
            paragraphs[r.randrange(len(paragraphs))] = pools.prose(r, 2 + r.randrange(3), " ")
            self.summary = "\n\n".join(paragraphs)
        if r.random() < p:
            pos = self.positions[r.randrange(len(self.positions))]
            bullets = pos.description.split("\n• ") if pos.description else []
            bullet = pools.prose(r, 1, " ")
            if bullets and r.random() < 0.7:
                bullets[r.randrange(len(bullets))] = bullet
            else:
                bullets.append(bullet)
            pos.description = "\n• ".join(bullets)

    def _position(self, r: random.Random, pools: _Pools, start: float, end: float | None
                  ) -> Position:
        desc = pools.prose(r, 2 + r.randrange(3), "\n• ") if r.random() < 0.7 else ""
        return Position(pools.companies[r.randrange(900)], _title(r), desc, r.choice(CITIES),
                        start, end)

    def _headline(self, r: random.Random) -> str:
        p = self.positions[0]
        topic = r.choice(TOPICS).replace("&amp;", "&")
        extra = r.choice(("", f" | {topic}", " | Speaker", " | Open to work 🔎",
                          f" | ex-{_company(r)}"))
        return f"{p.title} at {p.company}{extra}"

    @staticmethod
    def _recommendation(r: random.Random, t: float, pools: _Pools) -> Recommendation:
        text = pools.prose(r, 3 + r.randrange(4), " ")
        if r.random() < 0.4:
            text += "\n\n" + pools.prose(r, 2, " ")
        return Recommendation(_person(r), _company(r), _title(r), text, t)


# --------------------------------------------------------------------------- encoding members

Chunks = Callable[[], Iterable[bytes]]


def _csv_chunks(header: str, rows: Iterable[Sequence[str]], *, prefix: str = "",
                tsv16: bool = False) -> Iterator[bytes]:
    """Header line (verbatim) then RFC 4180 rows, LF line ends, in chunks of rows.

    ``tsv16`` gives the 2018 form: UTF-16LE with BOM, TAB-separated, every field quoted."""
    buf = io.StringIO()
    if tsv16:
        w = csv.writer(buf, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
    else:
        w = csv.writer(buf, lineterminator="\n")
    buf.write(prefix + header + "\n")
    it, first = iter(rows), True
    while True:
        batch = list(itertools.islice(it, CHUNK_ROWS))
        w.writerows(batch)
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        if tsv16:
            yield (b"\xff\xfe" if first else b"") + text.encode("utf-16-le")
        elif text:
            yield text.encode("utf-8")
        first = False
        if not batch:
            return


def _backslash_chunks(header: str, rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    """Comments.csv: quoted when needed, but an inner quote is ``\\"`` instead of ``""``."""

    def fld(s: str) -> str:
        if "," in s or '"' in s or "\n" in s:
            return '"' + s.replace('"', '\\"') + '"'
        return s

    yield (header + "\n" + "".join(",".join(map(fld, row)) + "\n" for row in rows)).encode()


def _csv(header: str, rows: Callable[[], Iterable[Sequence[str]]], *, prefix: str = "",
         tsv16: bool = False) -> Chunks:
    """A member whose bytes are produced lazily, when the zip writer asks for them."""
    return lambda: _csv_chunks(header, rows(), prefix=prefix, tsv16=tsv16)


# --------------------------------------------------------------------------- 2025 members


def _activity_id(r: random.Random, t: float) -> int:
    """LinkedIn activity IDs carry their creation time in milliseconds above bit 22."""
    return (int(t * 1000) << 22) | r.getrandbits(22)


def _feed_link(r: random.Random, t: float, kind: str = "activity") -> str:
    return f"https://www.linkedin.com/feed/update/urn%3Ali%3A{kind}%3A{_activity_id(r, t)}"


def _token(r: random.Random, n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(alphabet[r.getrandbits(6)] for _ in range(n))


def _media_link(r: random.Random, t: float) -> str:
    return (f"https://media.licdn.com/dms/image/v2/D4E22AQ{_token(r, 11)}/feedshare-shrink_800/"
            f"feedshare-shrink_800/0/{int(t * 1000)}?e={int(t) + 90 * DAY}&v=beta"
            f"&t={_token(r, 43)}")


def _course(r: random.Random) -> str:
    topic = r.choice(TOPICS).replace("&amp;", "&")
    return f"{topic[:1].upper()}{topic[1:]}: " + r.choice(
        ("Essential Training", "Foundations", "Tips & Tricks", "for Managers", "Part 2"))


def _share_commentary(r: random.Random, pools: _Pools) -> str:
    """Shares.csv commentary is stored wrapped in quotes with ``"\\n"`` between lines."""
    lines = [pools.prose(r, 1 + r.randrange(3), " ") for _ in range(1 + r.randrange(3))]
    if r.random() < 0.2:
        lines.append("𝗞𝗲𝘆 𝘁𝗮𝗸𝗲𝗮𝘄𝗮𝘆: ship small, ship often ✅")
    return '"' + '"\n"'.join(x.replace('"', '""') for x in lines) + '"'


def _endorsement(mem: Member, received: bool) -> Callable[[random.Random, float, int], list[str]]:
    def make(r: random.Random, t: float, a: int) -> list[str]:
        p = mem.someone(r, t)
        skill = r.choice(mem.profile.skills[:12]) if received else r.choice(SKILLS)
        return [_slash(t), skill, p.first, p.last, p.url, "ACCEPTED"]
    return make


def _legacy_endorsements(mem: Member) -> Iterator[list[str]]:
    """The received endorsements again, as the legacy file writes them ('Accepted'), then
    redacted ones (the endorser gone from LinkedIn), drawn from a stream of their own."""
    for when, skill, first, last, url, _status in mem.rows("endorsements_received",
                                                           _endorsement(mem, True)):
        yield [when, skill, first, last, url, "Accepted"]
    r = random.Random(_seed(mem.seed, "redacted endorsements"))
    for _ in range(3 + len(mem.profile.skills) // 4):
        t = mem.T[0] - r.uniform(100, 2000) * DAY
        yield [_slash(t), r.choice(mem.profile.skills), "", "", "", "Redacted"]


def _with_quirks(mem: Member, members: list[tuple[str, Chunks]]) -> list[tuple[str, Chunks]]:
    """The members of an export, with the files ``mem.quirks`` add or take away."""
    out = list(members)
    if "legacy-endorsements" in mem.quirks:
        at = [name for name, _ in out].index("Endorsement_Received_Info.csv") + 1
        out.insert(at, ("Endorsement Received Info.csv", _csv(
            H_LEGACY_ENDORSEMENTS, lambda: _legacy_endorsements(mem), tsv16=True)))
    gone = {name for quirk, name in (("no-messages", "messages.csv"),
                                     ("no-messages", "Messages.csv"),
                                     ("no-profile", "Profile.csv")) if quirk in mem.quirks}
    if "hostile" in mem.quirks:
        out.append((HOSTILE_MEMBER, lambda: [b"a member whose name attacks a terminal\n"]))
    return [(name, chunks) for name, chunks in out if name not in gone]


def _contacts_2012(mem: Member, era: str) -> bytes:
    """The one file of the 2012 "Export contacts" page: Outlook CSV (Windows-1252, CRLF,
    every field quoted; a character cp1252 lacks becomes '?') or vCard 3.0."""
    people = list(mem.connection_rows_2012())
    if era == "2012-outlook":
        buf = io.StringIO()
        w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        buf.write(H12_OUTLOOK + "\r\n")
        for first, last, email, company, title in people:
            row = [""] * 59
            row[1], row[3], row[5], row[29], row[31] = first, last, email, company, title
            w.writerow(row)
        return buf.getvalue().encode("cp1252", "replace")

    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")

    cards = []
    for first, last, email, company, title in people:
        lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{esc(last)};{esc(first)};;;",
                 f"FN:{esc(first)} {esc(last)}"]
        lines += [f"ORG:{esc(company)}"] * bool(company) + [f"TITLE:{esc(title)}"] * bool(title)
        lines += [f"EMAIL;TYPE=INTERNET,PREF:{email}"] * bool(email) + ["END:VCARD"]
        cards.append("\r\n".join(lines) + "\r\n")
    return "".join(cards).encode()


def _members_2025(mem: Member) -> list[tuple[str, Chunks]]:
    pf, pools, me, now = mem.profile, mem.pools, mem.profile.me, mem.now

    def rec(x: Recommendation) -> list[str]:
        return [x.p.first, x.p.last, x.company, x.title, x.text, _us(x.t), "VISIBLE"]

    def invitation(r: random.Random, t: float, a: int) -> tuple[int, list[str]]:
        other = pools.recruiters[r.randrange(500)] if r.random() < 0.3 else _person(r)
        gone = a + 1 + r.randrange(6) if r.random() < 0.3 else NEVER  # accepted or withdrawn
        msg = pools.prose(r, 1, " ") if r.random() < 0.25 else ""
        by, to = (me, other) if r.random() < 0.35 else (other, me)
        return gone, [by.full, to.full, _us(t), msg, "OUTGOING" if by is me else "INCOMING",
                      by.url, to.url]

    def invitations() -> Iterator[list[str]]:
        return (row for gone, row in mem.rows("invitations", invitation) if gone > mem.month)

    def endorsement(received: bool) -> Callable[[random.Random, float, int], list[str]]:
        return _endorsement(mem, received)

    def learning(r: random.Random, t: float, a: int) -> list[str]:
        done = f"{_utc(t + r.uniform(1, 20) * 3600):%Y-%m-%d %H:%M} UTC"
        return [_course(r), f"<p>{pools.prose(r, 2, ' ')}</p>", r.choice(("Course", "Video")),
                f"{_utc(t):%Y-%m-%d %H:%M} UTC", done if r.random() < 0.5 else "",
                r.choice(("false", "true")), "", ""]

    def application(r: random.Random, t: float, a: int) -> list[str]:
        qa = (f"Are you legally authorized to work in this country?:Yes | How many years of work "
              f"experience do you have with {r.choice(SKILLS)}?:{r.randrange(1, 15)}")
        return [_us(t), me.email, pf.phone, pools.companies[r.randrange(900)], _title(r),
                f"https://www.linkedin.com/jobs/view/{r.randrange(10**9, 4 * 10**9)}",
                f"{_ascii(me.last) or 'cv'}_resume_{_utc(t).year}.pdf", qa]

    def photo(r: random.Random, t: float, a: int) -> list[str]:
        d, link = _utc(t), _media_link(r, t)
        when = (f"{MONTHS_LONG[d.month - 1]} {d.day}, {d.year} at {d.hour % 12 or 12}:"
                f"{d.minute:02d} {'AM' if d.hour < 12 else 'PM'}")
        return [f"You uploaded a feed photo on {when} (GMT) - {link}", "", link]

    def share(r: random.Random, t: float, a: int) -> list[str]:
        url = f"https://www.example.com/blog/{r.randrange(10**5)}" if r.random() < 0.4 else ""
        media = _media_link(r, t) if r.random() < 0.3 else ""
        return [_iso(t), _feed_link(r, t, "share"), _share_commentary(r, pools), url, media,
                r.choice(("MEMBER_NETWORK", "PUBLIC"))]

    def comment(r: random.Random, t: float, a: int) -> list[str]:
        text = pools.prose(r, 1 + r.randrange(3), "\n" if r.random() < 0.2 else " ")
        if r.random() < 0.15:
            text = f'I heard this called a "{r.choice(TOPICS)}" problem. {text}'
        return [_iso(t), _feed_link(r, t), text]

    def search(r: random.Random, t: float, a: int) -> list[str]:
        q = r.choice((lambda: r.choice(TITLES), lambda: mem.someone(r, t).full,
                      lambda: pools.companies[r.randrange(900)], lambda: r.choice(TOPICS)))()
        return [_slash(t), q]

    def login(r: random.Random, t: float, a: int) -> list[str]:
        return [_java(t), f"203.0.113.{r.randrange(1, 255)}", r.choice(UAS),
                r.choice(("Website Login", "Mobile Login", "Remember Me Login"))]

    rows = mem.rows
    return [
        ("Connections.csv", _csv(H25["Connections.csv"], mem.connection_rows,
                                 prefix=CONNECTIONS_PREAMBLE)),
        ("messages.csv", _csv(H25["messages.csv"], mem.message_rows)),
        ("Invitations.csv", _csv(H25["Invitations.csv"], invitations)),
        ("Profile.csv", _csv(H25["Profile.csv"], lambda: [[
            me.first, me.last, "", "", pf.birth, pf.headline, pf.summary,
            "Software Development", "", pf.city, f"[{_ascii(me.first)[:8] or 'm'}_tweets]",
            f"[PORTFOLIO:https://www.example.com/~{me.url.rsplit('/', 1)[1]}]", ""]])),
        ("Profile Summary.csv", _csv(H25["Profile Summary.csv"], lambda: [[pf.summary]])),
        ("Positions.csv", _csv(H25["Positions.csv"], lambda: [
            [p.company, p.title, p.description, p.location, _mon_year(p.start),
             _mon_year(p.end) if p.end else ""] for p in pf.positions])),
        ("Education.csv", _csv(H25["Education.csv"], lambda: [
            [s, str(_utc(a).year), str(_utc(b).year), "", d, ""] for s, a, b, d in pf.education])),
        ("Skills.csv", _csv("Name", lambda: [[s] for s in pf.skills])),
        ("Languages.csv", _csv(H25["Languages.csv"], lambda: [
            ["English", "Full professional proficiency"], ["Français", "Native or bilingual "
                                                            "proficiency"]])),
        ("Certifications.csv", _csv(H25["Certifications.csv"], lambda: [
            [_course(random.Random(_seed(mem.seed, "cert"))), "https://www.example.org/verify",
             "Example Learning", _mon_year(now - 400 * DAY), "", "EX-1042-77"]])),
        ("Recommendations_Received.csv", _csv(H25["Recommendations_Received.csv"],
                                              lambda: map(rec, pf.received))),
        ("Recommendations_Given.csv", _csv(H25["Recommendations_Given.csv"],
                                           lambda: map(rec, pf.given))),
        ("Endorsement_Received_Info.csv", _csv(H25["Endorsement_Received_Info.csv"], lambda: rows(
            "endorsements_received", endorsement(True)))),
        ("Endorsement_Given_Info.csv", _csv(H25["Endorsement_Given_Info.csv"], lambda: rows(
            "endorsements_given", endorsement(False)))),
        ("Email Addresses.csv", _csv(H25["Email Addresses.csv"], lambda: [
            [me.email, "Yes", "Yes", _us(pf.registered + 40 * DAY)],
            [me.email.replace("@example.com", "@example.org"), "Yes", "No", "Not Available"]])),
        ("PhoneNumbers.csv", _csv(H25["PhoneNumbers.csv"], lambda: [["", pf.phone, "Mobile"]])),
        ("Whatsapp Phone Numbers.csv", _csv(H25["Whatsapp Phone Numbers.csv"], list)),
        ("Registration.csv", _csv(H25["Registration.csv"], lambda: [
            [_us(pf.registered), "198.51.100.23", ""]])),
        ("Company Follows.csv", _csv(H25["Company Follows.csv"], lambda: rows(
            "company_follows", lambda r, t, a: [pools.companies[r.randrange(900)], _java(t)]))),
        ("Member_Follows.csv", _csv(H25["Member_Follows.csv"], lambda: rows(
            "member_follows", lambda r, t, a: [_iso(t), "Active", _person(r).full]))),
        ("Reactions.csv", _csv(H25["Reactions.csv"], lambda: rows(
            "reactions", lambda r, t, a: [_iso(t), r.choice(REACTIONS), _feed_link(r, t)]))),
        ("Shares.csv", _csv(H25["Shares.csv"], lambda: rows("shares", share))),
        ("Comments.csv", lambda: _backslash_chunks(H25["Comments.csv"], rows("comments",
                                                                              comment))),
        ("InstantReposts.csv", _csv(H25["InstantReposts.csv"], lambda: rows(
            "reposts", lambda r, t, a: [_iso(t), _feed_link(r, t)]))),
        ("Rich_Media.csv", _csv(H25["Rich_Media.csv"], lambda: rows("rich_media", photo))),
        ("Learning.csv", _csv(H25["Learning.csv"], lambda: rows("learning", learning))),
        ("SearchQueries.csv", _csv(H25["SearchQueries.csv"], lambda: rows("searches", search))),
        ("Logins.csv", _csv(H25["Logins.csv"], lambda: rows("logins", login, now - 60 * DAY))),
        ("Jobs/Saved Jobs.csv", _csv(H25["Jobs/Saved Jobs.csv"], lambda: rows(
            "saved_jobs", lambda r, t, a: [
                _us(t), f"https://www.linkedin.com/jobs/view/{r.randrange(10**9, 4 * 10**9)}",
                _title(r), pools.companies[r.randrange(900)]]))),
        ("Jobs/Job Applications.csv", _csv(H25["Jobs/Job Applications.csv"], lambda: sorted(
            rows("applications", application), key=lambda x: sha256(x[5].encode()).digest()))),
        *[(n, _csv(H25[n], list)) for n in ("coach_messages.csv", "guide_messages.csv",
                                            "learning_coach_messages.csv",
                                            "learning_role_play_messages.csv",
                                            "LearningCoachMessages.csv")],
    ]


# --------------------------------------------------------------------------- 2018 members


def _members_2018(mem: Member) -> list[tuple[str, Chunks]]:
    pf, pools, me = mem.profile, mem.pools, mem.profile.me

    def invitation(r: random.Random, t: float, a: int) -> list[str]:
        other = _person(r)
        msg = pools.prose(r, 1, " ") if r.random() < 0.3 else ""
        out = r.random() < 0.4
        return [(me if out else other).full, (other if out else me).full, _us(t), msg,
                "OUTGOING" if out else "INCOMING"]

    def share(r: random.Random, t: float, a: int) -> list[str]:
        return [_slash(t), "", "", _feed_link(r, t, "share"), pools.prose(r, 2, " "),
                f"https://www.example.com/blog/{r.randrange(10**5)}" if r.random() < 0.4 else "",
                "", "SHARE", r.choice(("CONNECTIONS", "PUBLIC"))]

    def search(r: random.Random, t: float, a: int) -> list[str]:
        return [_slash(t), r.choice((r.choice(TITLES), r.choice(TOPICS), _company(r)))]

    def login(r: random.Random, t: float, a: int) -> list[str]:
        return [_slash(t), f"203.0.113.{r.randrange(1, 255)}", r.choice(UAS), "Website Login"]

    rows = mem.rows
    article_t = pf.registered + 0.6 * (mem.T[0] - pf.registered)
    article = (
        '<html><head><meta charset="UTF-8"><title>On ' + TOPICS[0] + '</title><style>body{'
        'font-family:sans-serif}</style></head><body><h1>On ' + TOPICS[0] + "</h1><p>"
        + pools.prose(random.Random(_seed(mem.seed, "article")), 12, "</p><p>")
        + "</p></body></html>\n"
    )
    return [
        ("Account Status History.csv", _csv(H18["Account Status History.csv"], lambda: [
            [_slash(pf.registered), "Account created"]], tsv16=True)),
        (f"Articles/{_iso(article_t)}.html", lambda: [article.encode()]),
        ("Causes You Care About.csv", _csv("Supported Cause", lambda: [
            ["Education"], ["Science and Technology"]])),
        ("Connections.csv", _csv(H18["Connections.csv"], mem.connection_rows_2018)),
        ("Education.csv", _csv(H18["Education.csv"], lambda: [
            [s, str(_utc(a).year), str(_utc(b).year), "", d, ""] for s, a, b, d in pf.education])),
        ("Email Addresses.csv", _csv(H18["Email Addresses.csv"], lambda: [
            [me.email, "Yes", "Yes", _us(pf.registered + 40 * DAY)]])),
        ("Invitations.csv", _csv(H18["Invitations.csv"], lambda: rows("invitations", invitation))),
        ("Jobs/Saved Jobs.csv", _csv(H18["Jobs/Saved Jobs.csv"], lambda: rows(
            "saved_jobs", lambda r, t, a: [
                _us(t), f"https://www.linkedin.com/jobs/view/{r.randrange(10**8, 9 * 10**8)}",
                _title(r), _company(r)]))),
        ("Logins.csv", _csv(H18["Logins.csv"], lambda: rows("logins", login), tsv16=True)),
        ("Messages.csv", _csv(H18["Messages.csv"], mem.message_rows_2018)),
        ("Phone Numbers.csv", _csv(H18["Phone Numbers.csv"], lambda: [["", pf.phone, "Mobile"]])),
        ("Positions.csv", _csv(H18["Positions.csv"], lambda: [
            [p.company, p.title, p.description, p.location, _mon_year(p.start),
             _mon_year(p.end) if p.end else ""] for p in pf.positions])),
        ("Profile.csv", _csv(H18["Profile.csv"], lambda: [[
            me.first, me.last, "", "", pf.birth, "", pf.headline, pf.summary,
            "Computer Software", pf.city.rsplit(", ", 1)[-1], "", pf.city, "", "", ""]])),
        ("Projects.csv", _csv(H18["Projects.csv"], lambda: [
            ["Open data dashboard", pools.prose(random.Random(_seed(mem.seed, "proj")), 2, " "),
             "https://www.example.org/dashboard", _mon_year(pf.positions[-1].start), ""]])),
        ("Recommendations Received.csv", _csv(H18["Recommendations Received.csv"], lambda: [
            [x.p.first, x.p.last, x.company, x.title, x.text, _us(x.t), "VISIBLE"]
            for x in pf.received])),
        ("Registration.csv", _csv(H18["Registration.csv"], lambda: [
            [_us(pf.registered), "198.51.100.23", "", "", ""]])),
        ("SavedJobAlerts.csv", _csv(H18["SavedJobAlerts.csv"], lambda: [
            [_us(mem.now - 200 * DAY), "https://www.linkedin.com/jobs/search/?keywords=data%20"
             "engineer&location=Europe"]])),
        ("Search Queries.csv", _csv(H18["Search Queries.csv"], lambda: rows("searches", search),
                                    tsv16=True)),
        ("Shares.csv", _csv(H18["Shares.csv"], lambda: rows("shares", share), tsv16=True)),
        ("Skills.csv", _csv("Name", lambda: [[s] for s in pf.skills])),
        ("Videos.csv", _csv(H18["Videos.csv"], lambda: [
            ["You can download your videos here",
             "https://www.linkedin.com/psettings/member-data/videos"]])),
    ]


# --------------------------------------------------------------------------- zip producers


def _zip_time(ts: int) -> tuple[int, int, int, int, int, int]:
    t = _utc(ts - ts % 2)  # DOS time has a 2-second resolution
    return (t.year, t.month, t.day, t.hour, t.minute, t.second)


def _write_zipfile(path: Path, members: list[tuple[str, Chunks]], ts: int, method: int,
                   zip64: bool) -> None:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, chunks in members:
            info = zipfile.ZipInfo(name, _zip_time(ts))
            info.compress_type = method
            info.create_system = 0  # as Java's ZipOutputStream: no host-dependent attributes
            info.external_attr = 0
            with zf.open(info, "w", force_zip64=zip64 and name.startswith("messages")) as fh:
                for chunk in chunks():
                    fh.write(chunk)


def _write_with_tool(path: Path, members: list[tuple[str, Chunks]], ts: int, producer: str
                     ) -> None:
    if producer == "7z":
        tool = shutil.which("7z")
        if tool is None:
            raise RuntimeError("producer '7z' needs the 7z command: apt-get install p7zip-full")
        args = [tool, "a", "-tzip", "-mx=5", "-mtc=off", "-bd", str(path.resolve())]
    else:
        level = producer.rsplit("-", 1)[1]
        args = ["/usr/bin/zip", "-q", "-X", "-D", f"-{level}", str(path.resolve())]
        if not os.path.exists(args[0]):
            raise RuntimeError(f"producer {producer!r} needs /usr/bin/zip: apt-get install zip")
    with tempfile.TemporaryDirectory(prefix="exportgen-") as tmp:
        for name, chunks in members:
            target = Path(tmp, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                for chunk in chunks():
                    fh.write(chunk)
            os.chmod(target, 0o644)
            os.utime(target, (ts - ts % 2, ts - ts % 2))
        env = {**os.environ, "TZ": "UTC", "LC_ALL": "C.UTF-8"}
        subprocess.run([*args, *(n for n, _ in members)], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL)


# --------------------------------------------------------------------------- public API


# --------------------------------------------------------------------------- hostile text

# Terminal control sequences an attacker can put in any text field of an export: clear the
# screen, set the window title, write the clipboard (OSC 52), a hidden link (OSC 8), an 8-bit
# CSI (C1) and a right-to-left override that disguises what follows.
TERMINAL_ATTACKS = (
    "\x1b[2J\x1b[H", "\x1b]0;owned\x07", "\x1b]52;c;cm0gLXJmIH4=\x07",
    "\x1b]8;;https://evil.example/\x1b\\here\x1b]8;;\x1b\\", "\x9b31m", "\u202egnp.exe",
)
# Profile URLs that must never become links.
HOSTILE_URLS = ("javascript:alert(document.domain)", "data:text/html,<script>alert(1)</script>",
                "vbscript:msgbox(1)", "//evil.example/in/eve", "JaVaScRiPt:alert(2)",
                " javascript:alert(3)")
# Email addresses (as lkvault reads them: one @, a domain) that a spreadsheet would run.
FORMULAS = ("=cmd|'/Ccalc'!A0@evil.example", "+1+1@evil.example", "-2+3@evil.example",
            "=1+1@evil.example", "+cmd|'/Ccalc'!A0@evil.example", "-cmd|'/Ccalc'!A0@evil.example")
HOSTILE_MEMBER = "Hostile \x1b]0;owned\x07 \x1b[2J name \u202eosc.csv"


def _hostile_rows(day: str) -> list[list[str]]:
    """Connections.csv rows (2025 columns) whose every field attacks a terminal, a page or a
    spreadsheet; each person is still a different, named connection."""
    rows = []
    for k, attack in enumerate(TERMINAL_ATTACKS):
        rows.append([f"Eve{k}{attack}", f"Attacker{attack}", HOSTILE_URLS[k % len(HOSTILE_URLS)],
                     FORMULAS[k % len(FORMULAS)], f"Corp{attack}", f"Title{attack}", day])
    return rows


def _plant_hostile_text(mem: Member) -> None:
    """The quirk ``hostile``: escape sequences, dangerous URLs and formulas in names,
    companies, titles, emails and the headline (2025 layout); ``_with_quirks`` adds the
    member with a hostile name."""
    if mem.era != "2025":
        raise ValueError("hostile text is only generated for the 2025 era")
    mem.planted_rows = _hostile_rows(_dmy(mem.now))
    mem.profile.headline = "Headline" + "".join(TERMINAL_ATTACKS)


def _build(path: Path, *, start: date, month_index: int, scale: str | float, seed: int,
           era: str, producer: str, quirks: Iterable[str] = (),
           deleted_at: int | None = None, style: str = "default") -> Path:
    if era not in ERAS:
        raise ValueError(f"unknown era {era!r}: use one of {ERAS}")
    if producer not in PRODUCERS:
        raise ValueError(f"unknown producer {producer!r}: use one of {PRODUCERS}")
    f = scale_factor(scale)
    unknown = set(quirks) - set(QUIRKS)
    if unknown:
        raise ValueError(f"unknown quirk {sorted(unknown)[0]!r}: use some of {sorted(QUIRKS)}")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}: use one of {sorted(STYLES)}")
    mem = Member(seed=seed, f=f, start=start, month=month_index, era=era,
                 quirks=frozenset(quirks), deleted_at=deleted_at, style=STYLES[style])
    if "hostile" in mem.quirks:
        _plant_hostile_text(mem)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    ts = int(mem.now)
    if era in CONTACT_ERAS:
        part.write_bytes(_contacts_2012(mem, era))
        os.utime(part, (ts, ts))
        os.replace(part, path)
        return path
    members = _with_quirks(mem, _members_2025(mem) if era == "2025" else _members_2018(mem))
    if producer in ("python", "stored"):
        method = zipfile.ZIP_DEFLATED if producer == "python" else zipfile.ZIP_STORED
        # zipfile must be told in advance when a member may pass 2 GiB: messages.csv takes
        # about 4 MB per unit of scale at month 0 and grows about 3.5% a month.
        zip64 = f * 4.0e6 * (1 + 0.035 * month_index) > 1.5e9
        _write_zipfile(part, members, ts, method, zip64=zip64)
    else:
        _write_with_tool(part, members, ts, producer)
    os.replace(part, path)
    return path


def generate_export(path: str | os.PathLike[str], *, date: date, scale: str | float = "small",
                    seed: int = 1, era: str = "2025", producer: str = "python",
                    month_index: int = 0, quirks: Iterable[str] = (),
                    deleted_at: int | None = None, style: str = "default") -> Path:
    """Write one export made on ``date``, the ``month_index``-th of a monthly series, with
    the ``quirks`` named (keys of ``QUIRKS``). A different ``seed`` is a different member.
    With ``deleted_at``, the member deletes a conversation in that month (see ``Member``).
    ``style`` (a key of ``STYLES``) is how the member edits, writes and churns."""
    return _build(Path(path), start=add_months(date, -month_index), month_index=month_index,
                  scale=scale, seed=seed, era=era, producer=producer, quirks=quirks,
                  deleted_at=deleted_at, style=style)


def generate_series(out_dir: str | os.PathLike[str], *, months: int, scale: str | float,
                    seed: int = 1, start: date = date(2025, 1, 15), era: str = "2025",
                    producer: str = "python", quirks: Iterable[str] = (),
                    style: str = "default") -> list[Path]:
    """Write ``months`` monthly exports of one member into ``out_dir``; return their paths.
    (The 2012 contacts eras have one file name: give them one month, or one ``out_dir`` each.)"""
    if months < 1:
        raise ValueError("months must be at least 1")
    out = Path(out_dir)
    return [_build(out / export_name(add_months(start, k), era), start=start, month_index=k,
                   scale=scale, seed=seed, era=era, producer=producer, quirks=quirks,
                   style=style)
            for k in range(months)]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.exportgen",
                                 description="Write a monthly series of synthetic LinkedIn "
                                 "data-export zips and print their paths.")
    ap.add_argument("--months", type=int, default=12, help="number of monthly exports")
    ap.add_argument("--scale", default="small",
                    help="small (~1 MB zip), medium (~10 MB), large (~300 MB) or a multiplier "
                         "of small")
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 15),
                    help="date of the first export, YYYY-MM-DD")
    ap.add_argument("--era", choices=ERAS, default="2025")
    ap.add_argument("--producer", choices=PRODUCERS, default="python")
    ap.add_argument("--quirk", action="append", choices=sorted(QUIRKS), default=[],
                    help="add a quirk real exports have (repeatable)")
    ap.add_argument("--style", choices=sorted(STYLES), default="default",
                    help="how the member edits, writes and churns: "
                    + "; ".join(f"{name}: {s.about}" for name, s in STYLES.items()))
    a = ap.parse_args(argv)
    try:
        scale_factor(a.scale)
    except ValueError as e:
        ap.error(str(e))
    for p in generate_series(a.out, months=a.months, scale=a.scale, seed=a.seed, start=a.start,
                             era=a.era, producer=a.producer, quirks=a.quirk, style=a.style):
        print(p, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
